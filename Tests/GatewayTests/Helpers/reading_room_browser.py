"""The reading room as a radiologist uses it, in a real browser (Debian's chromium and
chromium-driver, driven by Selenium), against a running `wecare serve` with a storescp PACS.

Run by ReadingRoomBrowserTests. Checks, in order: what answers without a session; a wrong
password (API and login page); the worklist; the viewer; dragging one contour point by a known
offset; a forged CSRF token; signing; a viewer's attempt to sign; the audit trail (admin only);
then at the PACS with highdicom and dciodvfy: the revised SEG's mask moved where the point was
dragged, the SR is VERIFIED by the radiologist and names the AI's SR as its predecessor, and every
object passes dciodvfy. Screenshots of the worklist, the viewer and the self-exam page go to --shots.

Prints one line per check; exits 1 on the first failure (with what was seen).
"""
import argparse
import glob
import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import highdicom as hd
import numpy as np
import pydicom
from PIL import Image, ImageDraw
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.actions.action_builder import ActionBuilder
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

p = argparse.ArgumentParser()
p.add_argument("--base", required=True)
p.add_argument("--pacs", required=True)
p.add_argument("--shots", required=True)
p.add_argument("--radiologist", required=True, help="NAME:PASSWORD")
p.add_argument("--viewer", required=True)
p.add_argument("--admin", required=True)
p.add_argument("--images", type=int, default=2, help="images sent, all expected in the worklist")
args = p.parse_args()
os.makedirs(args.shots, exist_ok=True)
started = time.time()


def check(cond, what, seen=""):
    print(("ok   " if cond else "FAIL ") + what + (f" ({seen})" if seen and not cond else ""), flush=True)
    if not cond:
        sys.exit(1)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **k):
        return None


opener = urllib.request.build_opener(NoRedirect)


def http(method, path, body=None, headers=None):
    data = None if body is None else json.dumps(body).encode()
    h = dict(headers or {})
    if body is not None:
        h["Content-Type"] = "application/json"
    req = urllib.request.Request(args.base + path, data=data, method=method, headers=h)
    try:
        with opener.open(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def login_api(spec):
    name, password = spec.split(":", 1)
    status, headers, body = http("POST", "/api/v1/login", {"name": name, "password": password})
    check(status == 200, f"API login as {name}", status)
    cookie = headers.get("Set-Cookie", "")
    check("HttpOnly" in cookie and "SameSite=Strict" in cookie, "session cookie is HttpOnly and SameSite=Strict", cookie)
    return {"Cookie": cookie.split(";")[0]}, json.loads(body)["csrf"]


# --- Without a session ------------------------------------------------------------------------
for path in ["/healthz", "/readyz", "/metrics", "/self-exam", "/login", "/static/app.css"]:
    status, _, _ = http("GET", path)
    check(status == 200, f"{path} answers without a session", status)
for path in ["/api/v1/review/items", "/api/v1/review/items/1", "/api/v1/audit", "/api/v1/jobs"]:
    status, _, _ = http("GET", path)
    check(status == 401, f"{path} is 401 without a session", status)
status, headers, _ = http("GET", "/worklist")
check(status == 303 and headers.get("Location", "").startswith("/login"), "/worklist redirects to the login page", (status, headers))
status, _, _ = http("POST", "/api/v1/review/items/1/sign", {"contours": [], "label": "normal", "revision": 0})
check(status == 401, "signing without a session is 401", status)

# --- Wrong password ---------------------------------------------------------------------------
rad_name, rad_password = args.radiologist.split(":", 1)
status, _, _ = http("POST", "/api/v1/login", {"name": rad_name, "password": rad_password + "x"})
check(status == 401, "a wrong password is refused", status)
status, _, _ = http("POST", "/api/v1/login", {"name": "nobody", "password": "whatever-it-is"})
check(status == 401, "an unknown account is refused the same way", status)

options = Options()
options.binary_location = "/usr/bin/chromium"
for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,900", "--force-device-scale-factor=1"]:
    options.add_argument(a)
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
driver.set_page_load_timeout(60)
wait = WebDriverWait(driver, 60)
try:
    driver.get(args.base + "/login")
    check(driver.find_element(By.CSS_SELECTOR, "a[href='/self-exam']") is not None, "the login page links to the self-exam page")
    driver.find_element(By.ID, "name").send_keys(rad_name)
    driver.find_element(By.ID, "password").send_keys("wrong-password-1")
    driver.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.find_element(By.ID, "message").text != "")
    check("wrong name or password" in driver.find_element(By.ID, "message").text, "the login page says the password is wrong")

    # --- Log in, worklist ---------------------------------------------------------------------
    driver.find_element(By.ID, "name").clear()
    driver.find_element(By.ID, "name").send_keys(rad_name)
    driver.find_element(By.ID, "password").send_keys(rad_password)
    driver.find_element(By.ID, "submit").click()
    wait.until(lambda d: d.current_url.endswith("/worklist") or "/worklist?" in d.current_url)
    deadline = time.time() + 600
    while True:
        rows = driver.find_elements(By.CSS_SELECTOR, "#rows tr.row")
        ready = [r for r in rows if "ready for review" in r.text]
        if len(ready) >= args.images or time.time() > deadline:
            break
        time.sleep(2)
        driver.refresh()
    check(len(ready) >= args.images, f"{args.images} images ready for review in the worklist", [r.text for r in rows])
    check("Doe, Jane" in driver.find_element(By.ID, "rows").text, "the worklist shows the patient's name")
    ready_jobs = [r.get_attribute("data-job") for r in ready]
    driver.save_screenshot(os.path.join(args.shots, "worklist.png"))

    # The image with the largest AI outline is the one to correct.
    best = None
    for r in ready:
        job = r.get_attribute("data-job")
        status, _, body = http("GET", f"/api/v1/review/items/{job}", headers={"Cookie": "wecare_session=" + driver.get_cookie("wecare_session")["value"]})
        item = json.loads(body)
        if item["ai"]["contours"] and (best is None or len(item["ai"]["contours"][0]) > len(best[1]["ai"]["contours"][0])):
            best = (job, item)
    check(best is not None, "an image has an AI outline to correct")
    job = best[0]
    driver.find_element(By.CSS_SELECTOR, f"#rows tr.row[data-job='{job}']").click()
    wait.until(lambda d: d.execute_script("return document.body.dataset.ready") == "true")
    time.sleep(0.5)

    # --- Drag one point outward by a known offset ----------------------------------------------
    contours = driver.execute_script("return window.wecare.editor.contours")
    scale = driver.execute_script("return window.wecare.view.scale")
    width, height = best[1]["width"], best[1]["height"]
    pts = contours[0]
    cx, cy = sum(p[0] for p in pts) / len(pts), sum(p[1] for p in pts) / len(pts)
    # The point farthest from the centre whose outward move stays well inside the image.
    candidates = []
    for i, (x, y) in enumerate(pts):
        d = math.hypot(x - cx, y - cy)
        ux, uy = (x - cx) / d, (y - cy) / d
        move_px = 24.0 / scale  # image pixels for 24 screen pixels
        nx, ny = x + ux * move_px, y + uy * move_px
        if 5 < nx < width - 5 and 5 < ny < height - 5:
            candidates.append((d, i, ux, uy))
    check(candidates, "a contour point can move outward inside the image")
    _, index, ux, uy = max(candidates)
    dx, dy = round(ux * 24), round(uy * 24)
    handle = driver.find_element(By.CSS_SELECTOR, f"circle.handle[data-contour='0'][data-index='{index}']")
    before = list(pts[index])
    ActionChains(driver).move_to_element(handle).click_and_hold().move_by_offset(dx, dy).release().perform()
    time.sleep(0.8)
    after_contours = driver.execute_script("return window.wecare.editor.contours")
    moved = after_contours[0][index]
    expected = (before[0] + dx / scale, before[1] + dy / scale)
    check(abs(moved[0] - expected[0]) < 1.5 / scale + 0.6 and abs(moved[1] - expected[1]) < 1.5 / scale + 0.6,
          f"point {index} moved by ({dx}, {dy}) screen px = ({dx / scale:.1f}, {dy / scale:.1f}) image px", (before, moved, expected))
    check(all(after_contours[0][k] == pts[k] for k in range(len(pts)) if k != index), "no other point moved")
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#measurements tr")) >= 1)
    check("Sign correction" in driver.find_element(By.ID, "sign").text, "the page knows the outline was corrected")
    driver.save_screenshot(os.path.join(args.shots, "viewer.png"))

    # --- A forged CSRF token, with the radiologist's real session cookie ----------------------
    cookie = {"Cookie": "wecare_session=" + driver.get_cookie("wecare_session")["value"]}
    body = {"contours": after_contours, "label": "malignant", "comment": "", "revision": 0}
    status, _, _ = http("POST", f"/api/v1/review/items/{job}/sign", body, {**cookie, "X-CSRF-Token": "0" * 64})
    check(status == 403, "a forged CSRF token is refused", status)
    status, _, _ = http("POST", f"/api/v1/review/items/{job}/sign", body, cookie)
    check(status == 403, "a change without a CSRF token is refused", status)

    # --- Sign -----------------------------------------------------------------------------------
    driver.find_element(By.ID, "comment").send_keys("outline extended laterally")
    driver.find_element(By.ID, "sign").click()
    wait.until(lambda d: d.execute_script("return document.body.dataset.signed") == "1" or "error" in d.find_element(By.ID, "status").get_attribute("class"))
    check(driver.execute_script("return document.body.dataset.signed") == "1", "the page says signed (revision 1)",
          driver.find_element(By.ID, "status").text)
    signed_contours = after_contours

    # --- A viewer may look, not sign --------------------------------------------------------------
    viewer_headers, viewer_csrf = login_api(args.viewer)
    status, _, _ = http("GET", f"/api/v1/review/items/{job}", headers=viewer_headers)
    check(status == 200, "a viewer sees the image", status)
    status, _, msg = http("POST", f"/api/v1/review/items/{job}/sign", {**body, "revision": 1}, {**viewer_headers, "X-CSRF-Token": viewer_csrf})
    check(status == 403, "a viewer's attempt to sign is refused", (status, msg))
    status, _, _ = http("GET", "/api/v1/audit", headers=viewer_headers)
    check(status == 403, "a viewer may not read the audit trail", status)
    admin_headers, _ = login_api(args.admin)
    status, _, audit = http("GET", f"/api/v1/audit?job={job}", headers=admin_headers)
    entries = json.loads(audit) if status == 200 else []
    check(any(e["action"] == "sign" and f"1 of {len(pts)} points moved" in (e.get("detail") or "") for e in entries),
          "the audit trail says what changed (one point moved)", [e.get("detail") for e in entries])
    check(status == 200 and any(e["action"] == "sign" and e["user"] == rad_name for e in entries)
          and any(e["action"] == "view" for e in entries), "the audit trail has the view and the signature", entries)

    # --- A second signature makes revision 2; a stale page's signature is refused -----------------
    rad_csrf = driver.execute_script("return fetch('/api/v1/session').then(r => r.json()).then(j => j.csrf)")
    rad_cookie = {"Cookie": "wecare_session=" + driver.get_cookie("wecare_session")["value"], "X-CSRF-Token": rad_csrf}
    stale = {"contours": signed_contours, "label": "benign", "comment": "", "revision": 0}
    status, _, msg = http("POST", f"/api/v1/review/items/{job}/sign", stale, rad_cookie)
    check(status == 409, "signing a page older than the last signature is refused (409)", (status, msg))
    status, _, msg = http("POST", f"/api/v1/review/items/{job}/sign", {**stale, "revision": 1}, rad_cookie)
    check(status == 200 and json.loads(msg)["revision"] == 2, "a second signature is revision 2", (status, msg))

    # --- Metrics count signatures and logins, and name no patient --------------------------------
    status, _, metrics = http("GET", "/metrics")
    metrics = metrics.decode()
    check('wecare_review_signatures_total{outcome="corrected"} 2' in metrics and 'wecare_review_logins_total{result="failed"}' in metrics,
          "/metrics counts signatures and failed logins", [l for l in metrics.splitlines() if "review" in l])
    check("Doe" not in metrics and "WC-100" not in metrics, "/metrics names no patient")

    # --- Worklist filters (API) -------------------------------------------------------------------
    rad_cookie = {"Cookie": "wecare_session=" + driver.get_cookie("wecare_session")["value"]}
    status, _, body = http("GET", "/api/v1/review/items?state=ready", headers=rad_cookie)
    check(status == 200 and json.loads(body)["total"] == args.images - 1, "filter by state: the other image is still ready", body[:200])
    status, _, body = http("GET", "/api/v1/review/items?from=2026-12-01&to=2026-12-31", headers=rad_cookie)
    rows_by_date = json.loads(body)["rows"]
    check(status == 200 and [r["study_date"] for r in rows_by_date] == ["20261201"], "filter by study date", rows_by_date)

    # --- The rest of the editor, on the other image (not signed) --------------------------------
    other = [j for j in ready_jobs if j != job][0]
    driver.get(args.base + f"/viewer/{other}")
    wait.until(lambda d: d.execute_script("return document.body.dataset.ready") == "true")
    time.sleep(0.5)
    contours = lambda: driver.execute_script("return window.wecare.editor.contours")

    def screen(x, y):
        return driver.execute_script(
            "const s = document.getElementById('overlay'); const p = s.createSVGPoint(); p.x = arguments[0]; p.y = arguments[1];"
            "const q = p.matrixTransform(s.getScreenCTM()); return [q.x, q.y];", x, y)

    def keys(*k, ctrl=False):
        chain = ActionChains(driver)
        if ctrl:
            chain.key_down(Keys.CONTROL)
        for key in k:
            chain.send_keys(key)
        if ctrl:
            chain.key_up(Keys.CONTROL)
        chain.perform()
        time.sleep(0.3)

    start = contours()
    check(len(start) >= 1, "the other image has an outline to edit", start)
    n0, p0 = len(start), len(start[0])
    a, b = start[0][0], start[0][1]
    sx, sy = screen((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    actions = ActionBuilder(driver)
    actions.pointer_action.move_to_location(int(round(sx)), int(round(sy))).double_click()
    actions.perform()
    time.sleep(0.3)
    check(len(contours()[0]) == p0 + 1, "double-clicking an outline inserts a point", (p0, len(contours()[0])))
    keys(Keys.DELETE)
    check(len(contours()[0]) == p0, "Delete removes the selected point", len(contours()[0]))
    keys("z", ctrl=True)
    check(len(contours()[0]) == p0 + 1, "Ctrl+Z undoes the deletion", len(contours()[0]))
    keys("y", ctrl=True)
    check(len(contours()[0]) == p0, "Ctrl+Y redoes it", len(contours()[0]))
    # Freehand: a circle of 40 screen px drawn where the image is, away from the outlines.
    keys("d")
    check(driver.execute_script("return window.wecare.editor.mode") == "draw", "d switches to drawing")
    cx_img, cy_img = 60 if start[0][0][0] > driver.execute_script("return window.wecare.item().width") / 2 else 250, 60
    cx, cy = screen(cx_img, cy_img)
    driver.execute_script("window.__ev = []; for (const t of ['pointerdown','pointermove','pointerup','pointercancel','lostpointercapture','error']) "
                          "window.addEventListener(t, e => window.__ev.push(t + ':' + (e.target && (e.target.id || e.target.tagName)) + ':' + (e.message || '')), true);")
    vp = driver.find_element(By.ID, "viewport")
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.left + r.width / 2, r.top + r.height / 2];", vp)
    chain = ActionChains(driver, duration=20).move_to_element_with_offset(vp, int(cx + 40 - rect[0]), int(cy - rect[1])).click_and_hold()
    last = (int(cx + 40), int(cy))
    for k in range(1, 33):
        t = 2 * math.pi * k / 32
        nxt = (int(cx + 40 * math.cos(t)), int(cy + 40 * math.sin(t)))
        chain.move_by_offset(nxt[0] - last[0], nxt[1] - last[1])
        last = nxt
    chain.release().perform()
    time.sleep(0.4)
    check(len(contours()) == n0 + 1 and len(contours()[-1]) >= 8, "a freehand stroke becomes a new outline",
          ([len(c) for c in contours()], driver.find_element(By.ID, "status").text, driver.execute_script("return window.wecare.editor.mode"),
           driver.execute_script("return [window.__ev.length].concat(window.__ev.slice(0, 12))")))
    driver.save_screenshot(os.path.join(args.shots, "viewer-freehand.png"))
    keys(Keys.DELETE)
    check(len(contours()) == n0, "Delete removes the selected outline", len(contours()))
    keys("z", ctrl=True)
    check(len(contours()) == n0 + 1, "Ctrl+Z brings the outline back", len(contours()))
    keys("o")
    check(driver.find_element(By.ID, "overlay").value_of_css_property("display") == "none", "o hides the overlay")
    keys("o")
    driver.find_element(By.ID, "save").click()
    wait.until(lambda d: "Draft saved" in d.find_element(By.ID, "status").text)
    status, _, body = http("GET", f"/api/v1/review/items/{other}", headers=rad_cookie)
    check(json.loads(body)["source"] == "draft" and len(json.loads(body)["contours"]) == n0 + 1, "the draft is kept, not signed",
          body[:200])
    driver.find_element(By.ID, "reset").click()
    time.sleep(0.3)
    check(contours() == json.loads(body)["ai"]["contours"], "Back to AI restores the AI's outlines")
    # Zoom and pan: + zooms in, dragging the image (not a point) moves it.
    view0 = driver.execute_script("return {...window.wecare.view}")
    keys("+")
    view1 = driver.execute_script("return {...window.wecare.view}")
    check(abs(view1["scale"] / view0["scale"] - 1.25) < 1e-6, "+ zooms in", (view0, view1))
    vp = driver.find_element(By.ID, "viewport")
    ActionChains(driver).move_to_element_with_offset(vp, -300, 250).click_and_hold().move_by_offset(60, -40).release().perform()
    time.sleep(0.3)
    view2 = driver.execute_script("return {...window.wecare.view}")
    check(abs(view2["tx"] - view1["tx"] - 60) < 2 and abs(view2["ty"] - view1["ty"] + 40) < 2, "dragging the image pans it", (view1, view2))
    check(contours() == json.loads(body)["ai"]["contours"], "panning moved no point")
    # Accept: the AI's outline and class as they are, signed with the a key.
    driver.find_element(By.ID, "label").send_keys(json.loads(body)["ai"]["label"])
    driver.find_element(By.ID, "viewport").click()
    check(driver.find_element(By.ID, "sign").text == "Sign (accept AI result)", "the page offers to accept the AI result",
          driver.find_element(By.ID, "sign").text)
    keys("a")
    wait.until(lambda d: d.execute_script("return document.body.dataset.signed") == "1" or "error" in d.find_element(By.ID, "status").get_attribute("class"))
    check("(accepted)" in driver.find_element(By.ID, "status").text, "a keyboard accept signs the AI result as accepted",
          driver.find_element(By.ID, "status").text)
    # n / p: the next or previous image of the worklist the radiologist came from.
    listed = driver.execute_script("return JSON.parse(sessionStorage.getItem('wecare.worklist') || '[]')")
    k = listed.index(int(other))
    key, target = ("n", listed[k + 1]) if k + 1 < len(listed) else ("p", listed[k - 1])
    keys(key)
    wait.until(lambda d: d.current_url.endswith(f"/viewer/{target}"))
    check(True, f"{key} opens the {'next' if key == 'n' else 'previous'} image of the worklist")

    # --- Self-exam page, also as a phone shows it -------------------------------------------------
    driver.get(args.base + "/self-exam")
    check("monthly" in driver.page_source and driver.find_elements(By.CSS_SELECTOR, ".step svg"), "the self-exam page has its steps and drawings")
    driver.save_screenshot(os.path.join(args.shots, "self-exam.png"))
    driver.set_window_size(390, 844)
    driver.save_screenshot(os.path.join(args.shots, "self-exam-phone.png"))
    driver.set_window_size(1400, 900)
    driver.get(args.base + "/worklist")
    wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#rows tr.row"))
    driver.save_screenshot(os.path.join(args.shots, "worklist-signed.png"))
    check(driver.find_element(By.ID, "audit-link").get_attribute("hidden") is not None, "a radiologist sees no audit link")

    # --- Log out; the admin's audit page ---------------------------------------------------------
    driver.find_element(By.ID, "logout").click()
    wait.until(lambda d: "/login" in d.current_url)
    status, _, _ = http("GET", "/api/v1/session", headers={"Cookie": rad_cookie["Cookie"]})
    check(status == 401, "after logging out the old session cookie is worthless", status)
    admin_name, admin_password = args.admin.split(":", 1)
    driver.find_element(By.ID, "name").send_keys(admin_name)
    driver.find_element(By.ID, "password").send_keys(admin_password)
    driver.find_element(By.ID, "submit").click()
    wait.until(lambda d: "/worklist" in d.current_url)
    wait.until(lambda d: d.find_element(By.ID, "audit-link").get_attribute("hidden") is None)
    driver.find_element(By.ID, "audit-link").click()
    wait.until(lambda d: len(d.find_elements(By.CSS_SELECTOR, "#rows tr")) > 3)
    audit_text = driver.find_element(By.ID, "rows").text
    check("sign" in audit_text and rad_name in audit_text and "login-failed" in audit_text, "the admin's audit page lists signatures and failed logins")
    check("Doe" not in audit_text and "WC-100" not in audit_text, "the audit trail names images by number, not patients")
    driver.save_screenshot(os.path.join(args.shots, "audit.png"))
finally:
    driver.quit()

# --- At the PACS -------------------------------------------------------------------------------
def datasets():
    out = []
    for f in glob.glob(os.path.join(args.pacs, "*")):
        try:
            out.append((f, pydicom.dcmread(f)))
        except Exception:
            pass
    return out


deadline = time.time() + 120
while time.time() < deadline:
    found = datasets()
    def revision(n):
        return [(f, d) for f, d in found if f"(revision {n})" in str(d.get("SeriesDescription", "")) and d.PatientID == best[1]["patient_id"]]
    revised = [(f, d) for f, d in revision(1) if d.Modality == "SR" and d.get("VerificationFlag") == "VERIFIED"]
    revised_seg = [(f, d) for f, d in revision(1) if d.Modality == "SEG" and str(d.get("ContentCreatorName", "")) == rad_name]
    revised_pr = [(f, d) for f, d in revision(1) if d.Modality == "PR" and str(d.get("ContentCreatorName", "")) == rad_name]
    second = [(f, d) for f, d in revision(2) if d.Modality == "SR"]
    if revised and revised_seg and revised_pr and len(revision(2)) == 3:
        break
    time.sleep(1)
check(len(revised) == 1 and len(revised_seg) == 1 and len(revised_pr) == 1, "the revised SR, SEG and PR reached the PACS",
      [(os.path.basename(f), d.Modality) for f, d in found])
check(len(revision(2)) == 3 and len(second) == 1, "revision 2's SR, SEG and PR reached the PACS too, beside revision 1's",
      [(d.Modality, d.get("SeriesDescription")) for f, d in found])
sr_file, sr = revised[0]
seg_file, seg_ds = revised_seg[0]
source_uid = seg_ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID
ai_srs = [d for f, d in found if d.Modality == "SR" and d.get("VerificationFlag") == "UNVERIFIED"
          and any(e.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == source_uid
                  for s in d.CurrentRequestedProcedureEvidenceSequence for e in s.ReferencedSeriesSequence)]
check(len(ai_srs) == 1, "the AI's own SR of that image is still at the PACS, unverified", len(ai_srs))
ai_sr = ai_srs[0]
pred = sr.PredecessorDocumentsSequence[0].ReferencedSeriesSequence[0]
check(pred.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == ai_sr.SOPInstanceUID
      and pred.SeriesInstanceUID == ai_sr.SeriesInstanceUID, "the signed SR names the AI's SR as its predecessor")
observer = sr.VerifyingObserverSequence[0]
check(str(observer.VerifyingObserverName) == rad_name, "the signed SR names the radiologist as Verifying Observer", observer)
check(sr.CompletionFlag == "COMPLETE" and sr.VerificationFlag == "VERIFIED", "the signed SR is COMPLETE and VERIFIED")
check(sr.SeriesInstanceUID != ai_sr.SeriesInstanceUID and sr.SOPInstanceUID != ai_sr.SOPInstanceUID, "the signed SR is a new instance in its own series")
names = [str(i.PersonName) for i in sr.ContentSequence if i.ValueType == "PNAME"]
check(names == [rad_name], "the signed SR's observer context names the radiologist (Person Observer Name)", names)
second_pred = {e.ReferencedSeriesSequence[0].ReferencedSOPSequence[0].ReferencedSOPInstanceUID for e in second[0][1].PredecessorDocumentsSequence}
check(second_pred == {ai_sr.SOPInstanceUID, sr.SOPInstanceUID}, "revision 2's SR names the AI's SR and revision 1's", second_pred)
check(second[0][1].SeriesInstanceUID != sr.SeriesInstanceUID, "each revision is its own series")
sr_hd = hd.sr.srread(sr_file)
check(sr_hd.SOPInstanceUID == sr.SOPInstanceUID, "highdicom reads the signed SR")

ai_segs = [(f, d) for f, d in found if d.Modality == "SEG" and not str(d.get("ContentCreatorName", ""))
           and d.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID == source_uid]
check(len(ai_segs) == 1, "the AI's SEG of that image is still at the PACS", len(ai_segs))


def mask(path):
    s = hd.seg.segread(path)
    pix = s.get_pixels_by_source_instance(source_sop_instance_uids=[source_uid], segment_numbers=[1])
    return np.asarray(pix)[0, ..., 0] > 0


revised_mask, ai_mask = mask(seg_file), mask(ai_segs[0][0])
check(revised_seg[0][1].SeriesInstanceUID != ai_segs[0][1].SeriesInstanceUID, "the revised SEG has its own series")
# The signed polygon, rasterised independently (pixel centres inside), must be the revised mask.
rows, cols = revised_mask.shape
img = Image.new("L", (cols * 4, rows * 4), 0)
for contour in signed_contours:  # the SEG is the union of every signed contour
    ImageDraw.Draw(img).polygon([(x * 4 - 0.5, y * 4 - 0.5) for x, y in contour], fill=1)
expected = np.asarray(img)[2::4, 2::4] > 0
iou = (expected & revised_mask).sum() / max(1, (expected | revised_mask).sum())
check(iou > 0.97, f"the revised SEG is the signed outline (IoU {iou:.3f})", iou)
# Where the point went: lesion in the revised mask, not in the AI's.
mx, my = moved[0] - ux * 3, moved[1] - uy * 3   # 3 px back inside the new outline
x, y = int(mx), int(my)
check(revised_mask[y, x] and not ai_mask[y, x], f"the revised SEG's mask moved to the dragged point ({x}, {y})",
      (bool(revised_mask[y, x]), bool(ai_mask[y, x])))
grown = revised_mask & ~ai_mask
gy, gx = np.nonzero(grown)
check(len(gx) > 0 and math.hypot(gx.mean() - moved[0], gy.mean() - moved[1]) < 40 / scale + 10,
      "what the revised mask gained lies around the dragged point", (len(gx), moved))

for f, d in found:
    r = subprocess.run(["dciodvfy", f], capture_output=True, text=True)
    errors = [l for l in (r.stdout + r.stderr).splitlines() if l.startswith("Error")]
    check(r.returncode == 0 and not errors, f"dciodvfy: {d.Modality} {os.path.basename(f)[:24]}", errors[:5])

print(f"reading room browser test passed in {time.time() - started:.0f} s", flush=True)
