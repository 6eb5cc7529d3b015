"""Plausible wrong submissions for ps1_processes: each must lose exactly these points."""


# The instructor's run_command: some submissions below change one thing in it.
RUN_COMMAND = '''
def run_command(args, input_text=None, timeout=5.0):
    try:
        program = subprocess.Popen(args, stdin=None if input_text is None else subprocess.PIPE,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
    except OSError as error:
        return CommandResult(None, "", f"cannot run {args[0]!r}: {error}", False)
    try:
        out, err = program.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(program.pid, signal.SIGKILL)
        out, err = program.communicate()
        return CommandResult(None, out, err, True)
    return CommandResult(program.returncode, out, err, False)
'''
# The textbook runner: subprocess.run with a timeout, which kills only the program itself.
RUN_COMMAND_WITH_RUN = '''
def run_command(args, input_text=None, timeout=5.0):
    try:
        done = subprocess.run(args, input=input_text, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as expired:
        def as_text(data):
            return data.decode(errors="replace") if isinstance(data, bytes) else (data or "")
        return CommandResult(None, as_text(expired.stdout), as_text(expired.stderr), True)
    except OSError as error:
        return CommandResult(None, "", f"cannot run {args[0]!r}: {error}", False)
    return CommandResult(done.returncode, done.stdout, done.stderr, False)
'''
SUBMISSIONS = {
    # subprocess.run(timeout=...): the program is killed, the helper it started runs on.
    "run_timeout_leaves_helper": {
        "cells": {"run_command": RUN_COMMAND_WITH_RUN},
        "loses": {"test_run_command_timeout": 1},
    },
    # A new session, but on timeout only the program is killed, not its process group.
    "kill_program_not_group": {
        "cells": {"run_command": RUN_COMMAND.replace("os.killpg(program.pid, signal.SIGKILL)", "program.kill()")},
        "loses": {"test_run_command_timeout": 1},
    },
    # Forks and collects the codes but never waits: every child stays a zombie
    # and the exit codes are made up from the input.
    "fork_without_reaping": {
        "cells": {"fork_children": '''
def fork_children(exit_codes):
    result = {}
    for code in exit_codes:
        pid = os.fork()
        if pid == 0:
            os._exit(code)
        result[pid] = code
    return result
'''},
        "loses": {"test_fork_children_hidden": 2},
    },
    # No child at all: invented PIDs next to the kernel's.
    "fork_hard_coded": {
        "cells": {"fork_children": '''
def fork_children(exit_codes):
    return {os.getpid() + 1 + i: code for i, code in enumerate(exit_codes)}
'''},
        "loses": {"test_fork_children_visible": 1, "test_fork_children_hidden": 2},
    },
    # Real children, reaped, but every child exits 0: the codes come from the input.
    "fork_codes_from_input": {
        "cells": {"fork_children": '''
def fork_children(exit_codes):
    result = {}
    for code in exit_codes:
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        result[pid] = code
    for pid in result:
        os.waitpid(pid, 0)
    return result
'''},
        "loses": {"test_fork_children_visible": 1, "test_fork_children_hidden": 2},
    },
    # Right children and codes, but a list of (pid, code) pairs instead of a dict.
    "fork_returns_pairs": {
        "cells": {"fork_children": '''
def fork_children(exit_codes):
    children = []
    for code in exit_codes:
        pid = os.fork()
        if pid == 0:
            os._exit(code)
        children.append(pid)
    return [(pid, os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])) for pid in children]
'''},
        "loses": {"test_fork_children_visible": 1, "test_fork_children_hidden": 2},
    },
    # The exit codes from the table, without starting a process.
    "behaviours_from_the_table": {
        "cells": {"run_behaviours": '''
def run_behaviours(behaviours, marker_dir):
    return [(os.getpid() + 1 + i, ps1_workers.EXPECTED_EXIT_CODES[b]) for i, b in enumerate(behaviours)]
'''},
        "loses": {"test_run_behaviours_visible": 1, "test_run_behaviours_hidden": 2},
    },
    # Starts the processes but reads exitcode before joining them.
    "exit_codes_before_join": {
        "cells": {"run_behaviours": '''
def run_behaviours(behaviours, marker_dir):
    processes = [multiprocessing.Process(target=ps1_workers.behave, args=(b, marker_dir)) for b in behaviours]
    for p in processes:
        p.start()
    result = [(p.pid, p.exitcode) for p in processes]
    for p in processes:
        p.join()
    return result
'''},
        "loses": {"test_run_behaviours_visible": 1, "test_run_behaviours_hidden": 2},
    },
    # Starts one process, joins it, then starts the next: they never run together.
    "start_join_one_by_one": {
        "cells": {"run_behaviours": '''
def run_behaviours(behaviours, marker_dir):
    result = []
    for b in behaviours:
        p = multiprocessing.Process(target=ps1_workers.behave, args=(b, marker_dir))
        p.start()
        p.join()
        result.append((p.pid, p.exitcode))
    return result
'''},
        "loses": {"test_run_behaviours_visible": 1, "test_run_behaviours_hidden": 2},
    },
    # Starts them all but never joins: the codes come from the table.
    "no_join_codes_from_table": {
        "cells": {"run_behaviours": '''
def run_behaviours(behaviours, marker_dir):
    processes = [multiprocessing.Process(target=ps1_workers.behave, args=(b, marker_dir)) for b in behaviours]
    for p in processes:
        p.start()
    return [(p.pid, ps1_workers.EXPECTED_EXIT_CODES[b]) for p, b in zip(processes, behaviours)]
'''},
        "loses": {"test_run_behaviours_hidden": 2},
    },
    # Right pairs, but sorted by exit code instead of in the order of the behaviours.
    "results_sorted_by_code": {
        "cells": {"run_behaviours": '''
def run_behaviours(behaviours, marker_dir):
    processes = [multiprocessing.Process(target=ps1_workers.behave, args=(b, marker_dir)) for b in behaviours]
    for p in processes:
        p.start()
    for p in processes:
        p.join()
    return sorted(((p.pid, p.exitcode) for p in processes), key=lambda pair: pair[1])
'''},
        "loses": {"test_run_behaviours_hidden": 2},
    },
    # Sequential: right results, in order, computed in this kernel.
    "sequential_map": {
        "cells": {"parallel_map": '''
def parallel_map(func, items, processes=2):
    return [func(item) for item in items]
'''},
        "loses": {"test_parallel_map_order": 1, "test_parallel_map_parallel": 2, "test_parallel_map_hidden": 1},
    },
    # A pool, but the whole list goes to one worker as a single chunk.
    "pool_one_chunk": {
        "cells": {"parallel_map": '''
def parallel_map(func, items, processes=2):
    with multiprocessing.Pool(processes) as pool:
        return pool.map(func, items, chunksize=len(items))
'''},
        "loses": {"test_parallel_map_parallel": 2, "test_parallel_map_hidden": 1},
    },
    # Results in completion order instead of item order.
    "map_unordered": {
        "cells": {"parallel_map": '''
def parallel_map(func, items, processes=2):
    with multiprocessing.Pool(processes) as pool:
        return sorted(pool.imap_unordered(func, items), key=repr)
'''},
        "loses": {"test_parallel_map_order": 1, "test_parallel_map_parallel": 2, "test_parallel_map_hidden": 1},
    },
    # Joins the command into one string and runs it through the shell: quoting
    # Always a pool of two, whatever `processes` says.
    "pool_fixed_size": {
        "cells": {"parallel_map": '''
def parallel_map(func, items, processes=2):
    with multiprocessing.Pool(2) as pool:
        results = pool.map(func, items, chunksize=1)
    pool.join()
    return results
'''},
        "loses": {"test_parallel_map_hidden": 1},
    },
    # Keeps a pool open for the next call: its workers stay running after the call returns.
    "pool_kept_open": {
        "cells": {"parallel_map": '''
_pools = {}


def parallel_map(func, items, processes=2):
    if processes not in _pools:
        _pools[processes] = multiprocessing.Pool(processes)
    return _pools[processes].map(func, items, chunksize=1)
'''},
        "loses": {"test_parallel_map_parallel": 2, "test_parallel_map_hidden": 1},
    },
    # breaks every call whose arguments hold spaces or quotes.
    "shell_true": {
        "cells": {"run_command": '''
def run_command(args, input_text=None, timeout=5.0):
    try:
        done = subprocess.run(" ".join(args), shell=True, input=input_text, capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return CommandResult(None, "", "", True)
    if done.returncode == 127:
        return CommandResult(None, done.stdout, done.stderr, False)
    return CommandResult(done.returncode, done.stdout, done.stderr, False)
'''},
        "loses": {"test_run_command_output": 1, "test_run_command_input": 1,
                  "test_run_command_timeout": 1, "test_run_command_hidden": 1},
    },
    # Popen with a timeout, but the program is never killed on timeout.
    "timeout_without_kill": {
        "cells": {"run_command": '''
def run_command(args, input_text=None, timeout=5.0):
    try:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    except OSError as error:
        return CommandResult(None, "", str(error), False)
    try:
        out, err = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        return CommandResult(None, "", "", True)
    return CommandResult(proc.returncode, out, err, False)
'''},
        "loses": {"test_run_command_timeout": 1},
    },
    # check=True turns a failing program into an exception; so do the timeout
    # and a missing program, which it does not catch.
    "raises_on_exit_code": {
        "cells": {"run_command": '''
def run_command(args, input_text=None, timeout=5.0):
    done = subprocess.run(args, input=input_text, capture_output=True, text=True, timeout=timeout, check=True)
    return CommandResult(done.returncode, done.stdout, done.stderr, False)
'''},
        "loses": {"test_run_command_output": 1, "test_run_command_timeout": 1, "test_run_command_hidden": 1},
    },
    # Drops empty arguments ("tidying" the list): the program gets fewer arguments.
    "drops_empty_arguments": {
        "cells": {"run_command": RUN_COMMAND.replace("subprocess.Popen(args,", "subprocess.Popen([a for a in args if a],")},
        "loses": {"test_run_command_hidden": 1},
    },
    # Treats 126 and 127 as "could not run", as a shell would; but here the program chose them.
    "exit_127_means_missing": {
        "cells": {"run_command": RUN_COMMAND.replace(
            "    return CommandResult(program.returncode,",
            "    if program.returncode in (126, 127):\n        return CommandResult(None, out, err, False)\n"
            "    return CommandResult(program.returncode,")},
        "loses": {"test_run_command_hidden": 1},
    },
    # Asks the program to stop with SIGTERM on timeout: one that ignores SIGTERM keeps running.
    "terminate_on_timeout": {
        "cells": {"run_command": '''
def run_command(args, input_text=None, timeout=5.0):
    try:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    except OSError as error:
        return CommandResult(None, "", f"cannot run {args[0]!r}: {error}", False)
    try:
        out, err = proc.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.terminate()
        return CommandResult(None, "", "", True)
    return CommandResult(proc.returncode, out, err, False)
'''},
        "loses": {"test_run_command_timeout": 1},
    },
    # A missing program gives an empty result, with no explanation.
    "missing_program_silent": {
        "cells": {"run_command": RUN_COMMAND.replace('f"cannot run {args[0]!r}: {error}"', '""')},
        "loses": {"test_run_command_hidden": 1},
    },
    # Waits for the program before reading its output: a program with more output
    # than a pipe holds blocks writing it, and the wait times out.
    "wait_then_read": {
        "cells": {"run_command": '''
def run_command(args, input_text=None, timeout=5.0):
    try:
        proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, start_new_session=True)
    except OSError as error:
        return CommandResult(None, "", f"cannot run {args[0]!r}: {error}", False)
    if input_text:
        proc.stdin.write(input_text)
    proc.stdin.close()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return CommandResult(None, "", "", True)
    return CommandResult(proc.returncode, proc.stdout.read(), proc.stderr.read(), False)
'''},
        "loses": {"test_run_command_hidden": 1},
    },
    # Never sends input_text: the program reads an empty standard input.
    "input_ignored": {
        "cells": {"run_command": RUN_COMMAND.replace("stdin=None if input_text is None else subprocess.PIPE,", "stdin=subprocess.DEVNULL,")},
        "loses": {"test_run_command_input": 1, "test_run_command_hidden": 1},
    },
    # Captures bytes, not text.
    "output_as_bytes": {
        "cells": {"run_command": RUN_COMMAND.replace(", text=True,", ",").replace(
            "program.communicate(input_text,", "program.communicate(None if input_text is None else input_text.encode(),")},
        "loses": {"test_run_command_output": 1, "test_run_command_input": 1, "test_run_command_hidden": 1},
    },
    # check=True: a program that exits non-zero raises CalledProcessError.
    "exit_code_raises": {
        "cells": {"run_command": RUN_COMMAND.replace(
            "    return CommandResult(program.returncode, out, err, False)",
            "    if program.returncode:\n        raise subprocess.CalledProcessError(program.returncode, args, out, err)\n"
            "    return CommandResult(program.returncode, out, err, False)")},
        "loses": {"test_run_command_output": 1, "test_run_command_hidden": 1},
    },
    # A timeout reported as the kill's exit code, not as timed_out.
    "timeout_as_exit_code": {
        "cells": {"run_command": RUN_COMMAND.replace(
            "return CommandResult(None, out, err, True)", "return CommandResult(-9, out, err, False)")},
        "loses": {"test_run_command_timeout": 1},
    },
    # Ignores the timeout argument: always five seconds.
    "timeout_fixed_at_5s": {
        "cells": {"run_command": RUN_COMMAND.replace("communicate(input_text, timeout=timeout)", "communicate(input_text, timeout=5.0)")},
        "loses": {"test_run_command_timeout": 1},
    },
    # Quotes every argument and hands the line to /bin/sh: the arguments arrive intact, but the
    # program is the shell's child, and a missing program is the shell's exit code 127.  (The
    # timeout still kills everything: the shell and the program share one process group.)
    "quoted_shell": {
        "cells": {"run_command": "import shlex\n" + RUN_COMMAND.replace(
            "subprocess.Popen(args,", "subprocess.Popen(shlex.join(args), shell=True,")},
        "loses": {"test_run_command_output": 1, "test_run_command_hidden": 1},
    },
}
