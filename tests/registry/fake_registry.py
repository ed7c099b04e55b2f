#!/usr/bin/env python3
"""A scripted registry for what docker-registry cannot show: a Bearer token
server, tags/list pagination, a blob redirect to another host name, a lying
Docker-Content-Digest header, a transient 503, a manifest whose first
transfer is cut in half, and blobs whose transfer breaks mid-body:
  resume   the first GET is cut after CUT bytes; later ones honour Range
  norange  the first GET is cut after CUT bytes; Range is ignored (200)
  dead     the first GET is cut after CUT bytes, every later one at once
Listings that misbehave: /v2/loop/tags/list and /v2/_catalog link from their
second page back to the first; /v2/endless/tags/list links to a new page
forever. /v2/r/manifests/huge is one byte larger than a manifest may be.
The OCI 1.1 referrers API: /v2/art holds image art:1.0 and an SBOM artifact
whose subject it is, named only by /v2/art/referrers/<image digest> (an
image index of artifactType-bearing descriptors; any other digest gets an
empty one), never by the fallback tag sha256-<hex>; /v2/broken/referrers/*
answers 500, /v2/denied/referrers/* 401 whatever the token. /testreferrers
gives {"image", "referrer"} digests.
/testblobs lists {name: digest}; /testblobs/NAME serves the bytes; /stats
holds token requests per scope, "ranges": {name: [Range header or ""]},
"pages": {listing path: requests} and "referrers": {path: requests}.

Usage: fake_registry.py PORT_FILE   (binds 127.0.0.1:0, writes the port there)
"""
import base64
import gzip
import io
import hashlib
import json
import os
import re
import socket
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

MANIFEST = b'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}'
BLOB = b"blob bytes behind a redirect\n"
TAGS = ["t0", "t1", "t2", "t3", "t4"]
CREDS = "Basic " + base64.b64encode(b"user:pass").decode()

CUT = 100000
MAX_MANIFEST = 16 << 20  # format/bundle_format.h kMaxManifestSize


def blob_bytes(name, size=300000):
    out = b"".join(hashlib.sha256(name.encode() + i.to_bytes(4, "big")).digest()
                   for i in range((size + 31) // 32))
    return out[:size]


def make_referred_image():
    """art:1.0 (one gzip layer) and an SBOM artifact whose subject it is, as
    {digest: (media type, bytes)} for manifests and blobs."""
    manifest_type = "application/vnd.oci.image.manifest.v1+json"
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.USTAR_FORMAT) as t:
        data = b"served beside a referrer\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    layer = gzip.compress(tar.getvalue(), mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux",
                         "rootfs": {"type": "layers",
                                    "diff_ids": [sha(tar.getvalue())]}}).encode()
    image = json.dumps({
        "schemaVersion": 2, "mediaType": manifest_type,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha(config), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": sha(layer), "size": len(layer)}]}).encode()
    empty = b"{}"
    sbom = b'{"spdxVersion":"SPDX-2.3","name":"art"}'
    referrer = json.dumps({
        "schemaVersion": 2, "mediaType": manifest_type,
        "artifactType": "application/spdx+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json",
                   "digest": sha(empty), "size": len(empty)},
        "layers": [{"mediaType": "application/spdx+json",
                    "digest": sha(sbom), "size": len(sbom)}],
        "subject": {"mediaType": manifest_type, "digest": sha(image),
                    "size": len(image)}}).encode()
    manifests = {sha(m): (manifest_type, m) for m in (image, referrer)}
    blobs = {sha(b): b for b in (layer, config, empty, sbom)}
    # The API's answer: an image index of descriptors carrying artifactType.
    index = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{"mediaType": manifest_type, "digest": sha(referrer),
                       "size": len(referrer), "artifactType": "application/spdx+json"}]}
                       ).encode()
    return sha(image), sha(referrer), manifests, blobs, index


def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


ART_IMAGE, ART_REFERRER, ART_MANIFESTS, ART_BLOBS, ART_INDEX = make_referred_image()
EMPTY_INDEX = json.dumps({"schemaVersion": 2,
                          "mediaType": "application/vnd.oci.image.index.v1+json",
                          "manifests": []}).encode()

BROKEN = {name: blob_bytes(name) for name in ("resume", "norange", "dead")}

lock = threading.Lock()
token_requests = {}  # scope -> count
flaky_left = {"n": 1}
ranges = {}  # broken blob name -> Range headers received, in order
pages = {}  # listing path -> requests
referrers = {}  # referrers API path -> requests


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send(self, code, body=b"", headers=None):
        self.send_response(code)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def send_broken(self, name, blob):
        asked = self.headers.get("Range", "")
        with lock:
            ranges.setdefault(name, []).append(asked)
            nth = len(ranges[name])
        start = 0
        if asked and name != "norange":
            m = re.fullmatch(r"bytes=(\d+)-", asked)
            if not m or int(m.group(1)) >= len(blob):
                return self.send(416, b"", {"Content-Range": "bytes */%d" % len(blob)})
            start = int(m.group(1))
        body = blob[start:]
        self.send_response(206 if start else 200)
        self.send_header("Content-Type", "application/octet-stream")
        if start:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(blob) - 1, len(blob)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command == "HEAD":
            return
        cut = None
        if nth == 1:
            cut = CUT
        elif name == "dead":
            cut = 0
        if cut is None:
            self.wfile.write(body)
            return
        # Promise the whole body, send part of it, and hang up.
        self.wfile.write(body[:cut])
        self.wfile.flush()
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_WR)

    def send_listing(self, url):
        with lock:
            pages[url.path] = pages.get(url.path, 0) + 1
        field = "repositories" if url.path == "/v2/_catalog" else "tags"
        last = parse_qs(url.query).get("last", [None])[0]
        headers = {"Content-Type": "application/json"}
        if url.path == "/v2/endless/tags/list":
            # Two new names a page, and a link to the next page, forever.
            k = (int(last[1:]) + 1) // 2 if last else 0
            names = ["e%d" % (2 * k), "e%d" % (2 * k + 1)]
            headers["Link"] = '<%s?n=2&last=e%d>; rel="next"' % (url.path, 2 * k + 1)
        elif last is None:
            names = ["a", "b"]
            headers["Link"] = '<%s?last=b>; rel="next"' % url.path
        else:
            # The second page leads back to the first.
            names = ["c"]
            headers["Link"] = '<%s>; rel="next"' % url.path
        return self.send(200, json.dumps({field: names}).encode(), headers)

    def send_referrers(self, path):
        with lock:
            referrers[path] = referrers.get(path, 0) + 1
        index_type = {"Content-Type": "application/vnd.oci.image.index.v1+json"}
        if path.startswith("/v2/art/referrers/"):
            digest = path[len("/v2/art/referrers/"):]
            return self.send(200, ART_INDEX if digest == ART_IMAGE else EMPTY_INDEX, index_type)
        if path.startswith("/v2/broken/referrers/"):
            return self.send(500, b'{"errors":[{"code":"UNKNOWN","message":"referrers broke"}]}')
        if path.startswith("/v2/denied/referrers/"):
            # Refused even with a token: retrying with a fresh one does not help.
            port = self.server.server_address[1]
            challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="fake"' % port
            return self.send(401, b'{"errors":[{"code":"DENIED","message":"no"}]}',
                             {"WWW-Authenticate": challenge})
        # Elsewhere: a registry without the API.
        return self.send(404, b"404 page not found\n")

    def send_art(self, rest):
        if rest.startswith("manifests/"):
            ref = rest[len("manifests/"):]
            digest = ART_IMAGE if ref == "1.0" else ref
            if digest in ART_MANIFESTS:
                media_type, body = ART_MANIFESTS[digest]
                return self.send(200, body, {"Content-Type": media_type,
                                             "Docker-Content-Digest": digest})
        if rest.startswith("blobs/") and rest[len("blobs/"):] in ART_BLOBS:
            return self.send(200, ART_BLOBS[rest[len("blobs/"):]],
                             {"Content-Type": "application/octet-stream"})
        return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}')

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urlparse(self.path)
        port = self.server.server_address[1]
        if url.path == "/stats":
            with lock:
                return self.send(
                    200, json.dumps(dict(token_requests, ranges=ranges, pages=pages,
                                         referrers=referrers)).encode())
        if url.path == "/testblobs":
            return self.send(200, json.dumps({n: sha(b) for n, b in BROKEN.items()}).encode())
        if url.path == "/testreferrers":
            return self.send(200, json.dumps({"image": ART_IMAGE,
                                              "referrer": ART_REFERRER}).encode())
        if url.path.startswith("/testblobs/"):
            return self.send(200, BROKEN[url.path[len("/testblobs/"):]])
        if url.path == "/token":
            if self.headers.get("Authorization") != CREDS:
                return self.send(401, b'{"details":"bad credentials"}')
            scopes = parse_qs(url.query).get("scope", [])
            with lock:
                for s in scopes:
                    token_requests[s] = token_requests.get(s, 0) + 1
            return self.send(200, json.dumps({"token": "tok:" + " ".join(sorted(scopes))}).encode())
        if url.path.startswith("/storage/"):
            if self.headers.get("Authorization"):
                return self.send(400, b"Authorization leaked to the blob store")
            return self.send(200, BLOB, {"Content-Type": "application/octet-stream"})
        if not url.path.startswith("/v2/"):
            return self.send(404)

        # Everything under /v2/r/ needs a token for repository:r:pull.
        scope = "repository:r:pull" if url.path.startswith("/v2/r/") else ""
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer tok:") or scope not in auth:
            challenge = 'Bearer realm="http://127.0.0.1:%d/token",service="fake"' % port
            if scope:
                challenge += ',scope="%s"' % scope
            return self.send(401, b'{"errors":[{"code":"UNAUTHORIZED","message":"token"}]}',
                             {"WWW-Authenticate": challenge})
        if url.path == "/v2/":
            return self.send(200, b"{}")
        if url.path == "/v2/r/tags/list":
            q = parse_qs(url.query)
            n = int(q.get("n", ["100"])[0])
            last = q.get("last", [None])[0]
            start = TAGS.index(last) + 1 if last else 0
            page = TAGS[start:start + n]
            headers = {"Content-Type": "application/json"}
            if start + n < len(TAGS):
                headers["Link"] = '</v2/r/tags/list?n=%d&last=%s>; rel="next"' % (n, page[-1])
            return self.send(200, json.dumps({"name": "r", "tags": page}).encode(), headers)
        if url.path in ("/v2/loop/tags/list", "/v2/_catalog", "/v2/endless/tags/list"):
            return self.send_listing(url)
        if "/referrers/" in url.path:
            return self.send_referrers(url.path)
        if url.path.startswith("/v2/art/"):
            return self.send_art(url.path[len("/v2/art/"):])
        mt = {"Content-Type": "application/vnd.oci.image.manifest.v1+json"}
        if url.path == "/v2/r/manifests/huge":
            return self.send(200, b" " * (MAX_MANIFEST + 1), mt)
        if url.path == "/v2/r/manifests/good":
            return self.send(200, MANIFEST, dict(mt, **{"Docker-Content-Digest": sha(MANIFEST)}))
        if url.path == "/v2/r/manifests/lying":
            return self.send(200, MANIFEST, dict(mt, **{"Docker-Content-Digest": sha(b"other")}))
        if url.path == "/v2/r/manifests/cut":
            with lock:
                cut = flaky_left.setdefault("cut", 1) > 0
                flaky_left["cut"] -= 1
            if cut:
                # Half the manifest, then the connection closes.
                self.send_response(200)
                self.send_header("Content-Type", mt["Content-Type"])
                self.send_header("Content-Length", str(len(MANIFEST)))
                self.end_headers()
                self.wfile.write(MANIFEST[:len(MANIFEST) // 2])
                self.wfile.flush()
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_WR)
                return
            return self.send(200, MANIFEST, mt)
        if url.path == "/v2/r/manifests/flaky":
            with lock:
                fail = flaky_left["n"] > 0
                flaky_left["n"] -= 1
            if fail:
                return self.send(503, b"try again", {"Retry-After": "0"})
            return self.send(200, MANIFEST, mt)
        for name, blob in BROKEN.items():
            if url.path == "/v2/r/blobs/" + sha(blob):
                return self.send_broken(name, blob)
        if url.path == "/v2/r/blobs/" + sha(BLOB):
            # Another host name for the same server: curl must drop Authorization.
            return self.send(307, b"", {"Location": "http://localhost:%d/storage/x" % port})
        return self.send(404, b'{"errors":[{"code":"MANIFEST_UNKNOWN","message":"unknown"}]}')


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        # Clients drop connections they no longer need (a 401 body unread).
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


def main():
    server = Server(("127.0.0.1", 0), Handler)
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
