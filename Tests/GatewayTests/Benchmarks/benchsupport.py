"""What the gateway's benchmark scripts share: a free port, and DCMTK's own programs."""
import os
import socket
import sys


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def dcmtk(name):
    """DCMTK's program of that name on PATH: pip's pynetdicom installs Python apps called
    storescu/storescp that would otherwise shadow it."""
    for d in os.environ.get("PATH", "/usr/bin").split(os.pathsep):
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            with open(p, "rb") as f:
                if f.read(2) != b"#!":
                    return p
    sys.exit(f"{name} not found: apt-get install dcmtk")
