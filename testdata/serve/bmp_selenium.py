"""A Selenium-style test written against BrowserMob Proxy, run unchanged against hark serve.

    python3 bmp_selenium.py LAUNCHER API_PORT SITE_URL OUT_HAR LOG_DIR

The client code below is what such suites do with PyPI's browsermob-proxy: start the
server from its launcher, create a proxy, set a blacklist, extra headers and a latency,
start a HAR, load a page in the browser, mark a new page, load another, fetch the HAR,
close the proxy, stop the server. Only the launcher path differs (LAUNCHER runs hark serve).
The browser is headless Chromium (browser.mjs) with the proxy the API returned.
"""
import json
import os
import subprocess
import sys

from browsermobproxy import Server

launcher, api_port, site, out, log_dir = sys.argv[1:6]
here = os.path.dirname(os.path.abspath(__file__))

server = Server(launcher, options={"port": int(api_port)})
server.start(options={"log_path": log_dir, "log_file": "server.log"})
try:
    proxy = server.create_proxy()
    assert proxy.blacklist(r".*/blocked\.png.*", 404) == 200
    assert proxy.headers({"X-Suite": "selenium-bmp"}) == 200
    assert proxy.limits({"latency": 5}) == 200
    assert proxy.new_har("home", options={"captureHeaders": True, "captureContent": True}, title="Home page") == (204, None)

    browser = subprocess.Popen(
        ["node", os.path.join(here, "browser.mjs"), proxy.proxy],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=os.path.dirname(here),
    )

    def visit(url):
        browser.stdin.write(url + "\n")
        browser.stdin.flush()
        line = browser.stdout.readline().strip()
        assert line == "ok " + url, "browser: %r" % line

    visit(site + "/")
    assert proxy.new_page("second", title="Second page") == 200
    visit(site + "/second")
    browser.stdin.close()
    assert browser.wait(timeout=60) == 0, "browser failed"

    har = proxy.har
    with open(out, "w") as f:
        json.dump(har, f)
    print("proxies:", proxy.proxy_ports)
    assert proxy.close() == 200
finally:
    server.stop()
print("ok")
