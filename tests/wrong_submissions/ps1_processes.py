"""Plausible wrong submissions for ps1_processes: each must lose exactly these points."""

SUBMISSIONS = {
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
        "loses": {"test_fork_children_hidden": 2},
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
    # Sequential: right results, in order, computed in this kernel.
    "sequential_map": {
        "cells": {"parallel_map": '''
def parallel_map(func, items, processes=2):
    return [func(item) for item in items]
'''},
        "loses": {"test_parallel_map_parallel": 2, "test_parallel_map_hidden": 1},
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
}
