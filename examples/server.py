"""A web server with a bug, and a client, in one program to try hot-restart on.

The server (the standard library's http.server, in a thread) answers
/average?values=...; the client asks it once.  The request fails in
``average``; the debugger opens in the server's terminal while the client
waits.  Fix the bug, type ``c``: the same request gets its answer, 200.
"""

import http.server
import threading
import urllib.request
from urllib.parse import parse_qs, urlparse

import hot_restart


def average(values):
    return sum(values) / len(values)  # Bug: no values at all divides by zero.


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        query = parse_qs(urlparse(self.path).query)
        values = [float(v) for v in query.get("values", [""])[0].split(",") if v]
        body = f"average: {average(values)}\n".encode()
        self.send_response(200)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


hot_restart.wrap_module()

if __name__ == "__main__":
    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/average?values="
    print("client: GET /average?values=")
    with urllib.request.urlopen(url, timeout=300) as answer:
        print(f"client: {answer.status} {answer.read().decode().strip()}")
