#!/usr/bin/env python3
"""Test peer for the gateway's Storage SCP, built on pynetdicom (pip install pynetdicom).

  scu.py store-raw HOST PORT CALLING CALLED FILE   send FILE's bytes as they are (no decoding),
                                                  so truncated/garbage/mismatched datasets reach the SCP
  scu.py store-list HOST PORT CALLING CALLED FILE...  store-raw for each FILE, one association each,
                                                  one JSON line per file (flushed) with its name
  scu.py hold HOST PORT CALLING CALLED N          open N associations, then one more; report each
Prints one JSON object per line.
"""
import json
import sys

from pynetdicom import AE, _config
from pynetdicom.sop_class import UltrasoundImageStorage, Verification

# Send files in chunks exactly as stored: the command's UIDs come from the file meta header,
# the dataset bytes are not decoded (so broken or mismatched datasets reach the SCP).
_config.STORE_SEND_CHUNKED_DATASET = True

ALL_TS = ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2", "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.5"]


def make_ae(calling):
    ae = AE(ae_title=calling)
    ae.acse_timeout = 10
    ae.dimse_timeout = 20
    ae.network_timeout = 20
    # One context per transfer syntax, so the SCP can accept each as proposed.
    for ts in ALL_TS:
        ae.add_requested_context(UltrasoundImageStorage, [ts])
    ae.add_requested_context(Verification)
    return ae


def store_raw(host, port, calling, called, path):
    ae = make_ae(calling)
    assoc = ae.associate(host, int(port), ae_title=called)
    if not assoc.is_established:
        print(json.dumps({"established": False}))
        return 2
    result = {"established": True, "status": None}
    try:
        status = assoc.send_c_store(path)
        result["status"] = int(status.Status) if status and "Status" in status else None
        if status and "ErrorComment" in status:
            result["comment"] = str(status.ErrorComment)
    except Exception as e:  # the SCP may abort on a broken stream
        print(json.dumps({"exception": str(e)}))
    finally:
        if assoc.is_established:
            assoc.release()
    print(json.dumps(result))
    return 0


def store_one(ae, host, port, called, path):
    """One association, one C-STORE of the file's bytes; what happened, as a dict."""
    result = {"file": path, "established": False, "status": None}
    try:
        assoc = ae.associate(host, int(port), ae_title=called)
    except Exception as e:
        result["exception"] = f"associate: {e}"
        return result
    if not assoc.is_established:
        result["rejected"] = assoc.is_rejected
        return result
    result["established"] = True
    try:
        status = assoc.send_c_store(path)
        result["status"] = int(status.Status) if status and "Status" in status else None
        if status and "ErrorComment" in status:
            result["comment"] = str(status.ErrorComment)
    except Exception as e:  # a file pynetdicom cannot read, or the SCP aborted on a broken stream
        result["exception"] = f"{type(e).__name__}: {e}"
    finally:
        if assoc.is_established:
            assoc.release()
    result["aborted"] = assoc.is_aborted
    return result


def store_list(host, port, calling, called, *paths):
    ae = make_ae(calling)
    for path in paths:
        print(json.dumps(store_one(ae, host, port, called, path)), flush=True)
    return 0


def hold(host, port, calling, called, n):
    ae = make_ae(calling)
    held = []
    for _ in range(int(n)):
        a = ae.associate(host, int(port), ae_title=called)
        held.append(a)
    opened = sum(1 for a in held if a.is_established)
    extra = ae.associate(host, int(port), ae_title=called)
    result = {"opened": opened, "extra_established": extra.is_established,
              "extra_rejected": extra.is_rejected}
    if extra.is_established:
        extra.release()
    for a in held:
        if a.is_established:
            a.release()
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    sys.exit({"store-raw": store_raw, "store-list": store_list, "hold": hold}[mode](*args))
