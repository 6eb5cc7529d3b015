"""The course on a real, local, multi-user JupyterHub (``make hub``, ``make hub-stop``, ``make hub-clean``).

Everything lives under one git-ignored folder (``build/hub/`` unless
``--state`` says otherwise): the hub's database and cookie secret, the shared
nbgrader exchange, the Jupyter config each role's servers read, and the homes
of the Unix accounts the command creates (one instructor, a few students),
whose passwords are in ``accounts.json`` (readable by root only).

* :mod:`.accounts`: the Unix accounts (``useradd``/``userdel``, passwords by ``chpasswd``);
* :mod:`.layout`: the state folder: the instructor's course, the exchange, each role's config;
* :mod:`.cli`: ``python -m coursetools.hub start|stop|clean`` (the Makefile's targets);
* ``jupyterhub_config.py``: the hub's configuration, read by ``jupyterhub -f``; the README shows it.
"""
