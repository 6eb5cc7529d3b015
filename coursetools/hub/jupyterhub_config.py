"""JupyterHub configuration of the course hub (``make hub``; ``jupyterhub -f`` this file).

It reads ``hub.json`` from the state folder named by ``COURSE_HUB_STATE``
(``python -m coursetools.hub start`` writes it and sets the variable).  What a
real deployment keeps and changes is in the README ("Run the course on your
JupyterHub").
"""
import json
import os
from pathlib import Path

c = get_config()  # noqa: F821  (provided by traitlets when JupyterHub loads this file)

state = Path(os.environ["COURSE_HUB_STATE"])
hub = json.loads((state / "hub.json").read_text())
course_id = hub["course_id"]
instructor, students = hub["instructor"], hub["students"]

# Loopback only: the proxy, its API and the hub itself.
c.JupyterHub.bind_url = f"http://127.0.0.1:{hub['port']}"
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = hub["hub_port"]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{hub['api_port']}"
c.ConfigurableHTTPProxy.command = [hub["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")

# All state in one folder.
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.pid_file = str(state / "jupyterhub.pid")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server
c.JupyterHub.cleanup_proxy = True

# Real Unix accounts, checked by PAM; the instructor is the hub's admin.
c.JupyterHub.authenticator_class = "pam"
c.Authenticator.allowed_users = {instructor, *students}
c.Authenticator.admin_users = {instructor}

# nbgrader's JupyterHub groups: "formgrade-<course>" may grade it, "nbgrader-<course>" takes it.
# nbgrader's JupyterHubAuthPlugin asks the hub for a user's groups with that user's server token,
# so a server's token has its owner's permissions ("inherit").
c.JupyterHub.load_groups = {
    f"formgrade-{course_id}": {"users": [instructor]},
    f"nbgrader-{course_id}": {"users": [instructor, *students]},
}
c.JupyterHub.load_roles = [{"name": "server", "scopes": ["inherit"]}]

# Each user's JupyterLab, started as that user by the (root) hub, from the course environment;
# the role's config folder gives it the shared exchange and the course (README: "Run the course
# on your JupyterHub").
c.Spawner.cmd = [str(Path(hub["venv_bin"]) / "jupyterhub-singleuser")]
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def config_path(spawner) -> str:
    return hub["config_dirs"]["instructor" if spawner.user.name == instructor else "student"]


c.Spawner.environment = {
    "JUPYTER_CONFIG_PATH": config_path,
    "PATH": f"{hub['venv_bin']}{os.pathsep}/usr/local/bin{os.pathsep}/usr/bin{os.pathsep}/bin",
}
