"""A Mosquitto broker on loopback for the end-to-end tests (Debian package mosquitto)."""

import os
import shutil
import subprocess
import tempfile

from harness import free_port, wait_for


class Broker:
    """mosquitto on 127.0.0.1:<port>. Persistent (in its temporary directory), so a
    persistent subscriber session survives a broker restart and receives what was published
    before it reconnected. Anonymous unless `passwords` ({user: password}) is given."""

    def __init__(self, port=None, passwords=None):
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="argus-mqtt-")
        self.conf = os.path.join(self.dir, "mosquitto.conf")
        # As root, mosquitto would switch to its own user, which cannot write the directory.
        user = "user root\n" if os.geteuid() == 0 else ""
        auth = "allow_anonymous true\n"
        if passwords:
            passwd = os.path.join(self.dir, "passwd")
            for i, (name, password) in enumerate(passwords.items()):
                subprocess.run(["mosquitto_passwd", "-b"] + (["-c"] if i == 0 else []) + [passwd, name, password],
                               check=True, capture_output=True)
            auth = f"allow_anonymous false\npassword_file {passwd}\n"
        with open(self.conf, "w") as f:
            f.write(f"listener {self.port} 127.0.0.1\n{auth}"
                    f"persistence true\npersistence_location {self.dir}/\n{user}"
                    "log_dest stderr\nlog_type error\n")
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(["mosquitto", "-c", self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        import socket

        def accepting():
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return True
            except OSError:
                if self.proc.poll() is not None:
                    raise AssertionError("mosquitto exited")
                return False
        wait_for(accepting, timeout=10, interval=0.05)
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self):
        return f"mqtt://127.0.0.1:{self.port}"
