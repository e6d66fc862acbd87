"""What the gateway's benchmark scripts share: a free port, DCMTK's own programs, and the
gateway.toml they run the gateway with."""
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


def gateway_toml(path, *, port, modality, pacs_port, model, analysis="", extra="", pacs_extra=""):
    """Writes the benchmarks' gateway.toml: one modality, the PACS as the only destination (SEG, SR,
    PR), no HTTP, the given model; `analysis`: more [analysis] keys, `pacs_extra`: more keys of the
    PACS destination, `extra`: whole sections after [analysis] (e.g. [retention])."""
    with open(path, "w") as f:
        f.write(f"""[gateway]
ae_title = "WECARE"
port = {port}
data_dir = "data"
min_free_disk_mb = 1
[[modality]]
ae_title = "{modality}"
[[destination]]
name = "pacs"
type = "dicom"
ae_title = "PACS"
host = "127.0.0.1"
port = {pacs_port}
outputs = ["seg", "sr", "pr"]
{pacs_extra}
[http]
enabled = false
[analysis]
model = "{model}"
{analysis}
{extra}""")
    return path
