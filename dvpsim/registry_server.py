"""dvpsim's own read-only container registry, on the simulator's port: one repository per sample image,
`samples/<file name without extension>:latest`, built on the fly: a one-layer OCI image whose tar holds
`disk/<file>` (the DVP container-disk format dvpsim.oci_pull pulls). `--registry-auth user:password` (or
POST /dvpsim/registry/auth) makes it demand credentials, with the Bearer token flow or plain Basic.
"""

import base64
import functools
import gzip
import hashlib
import io
import json
import secrets
import tarfile
from dataclasses import dataclass

from aiohttp import web

from dvpsim import control
from dvpsim.errors import BadRequest
from dvpsim.oci_pull import CHUNK, DISK_DIR, OCI_CONFIG, OCI_LAYER, OCI_LAYER_GZIP, OCI_MANIFEST

@dataclass(frozen=True)
class _Image:
    manifest: bytes
    manifest_digest: str
    blobs: dict  # digest -> bytes


def repository_of(sample_name: str) -> str:
    """samples/<file name without its extension>: alpine-virt.qcow2 → samples/alpine-virt. A compressed
    file keeps its whole name (tiny-raw.img.gz → samples/tiny-raw.img.gz) so the .gz and .xz twins differ."""
    stem, dot, ext = sample_name.rpartition(".")
    if not dot or ext in ("gz", "xz"):
        stem = sample_name
    return "samples/" + stem.lower()


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@functools.cache
def _build(sample_name: str) -> _Image | None:
    from dvpsim import samples
    data = samples.content(sample_name)
    if data is None:
        return None
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        directory = tarfile.TarInfo("disk")
        directory.type, directory.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(directory)
        entry = tarfile.TarInfo(DISK_DIR + sample_name)
        entry.size, entry.mode = len(data), 0o644
        tar.addfile(entry, io.BytesIO(data))
    layer_tar = tar_buf.getvalue()
    # Files already gz/xz-compressed go into a plain tar layer (recompressing gains nothing); the rest are gzip'd.
    if sample_name.endswith((".gz", ".xz")):
        layer, layer_type = layer_tar, OCI_LAYER
    else:
        layer, layer_type = gzip.compress(layer_tar, compresslevel=1, mtime=0), OCI_LAYER_GZIP
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "config": {},
        "rootfs": {"type": "layers", "diff_ids": [_digest(layer_tar)]},
    }, sort_keys=True).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": _digest(config), "size": len(config)},
        "layers": [{"mediaType": layer_type, "digest": _digest(layer), "size": len(layer)}],
    }, sort_keys=True).encode()
    return _Image(manifest, _digest(manifest), {_digest(config): config, _digest(layer): layer})


def _sample_for(repository: str) -> str | None:
    from dvpsim import samples
    for sample in samples.SAMPLES:
        if repository_of(sample.name) == repository:
            return sample.name
    return None


def _error(status: int, code: str, message: str, headers=None) -> web.Response:
    return web.json_response({"errors": [{"code": code, "message": message, "detail": None}]},
                             status=status, headers=headers)


class RegistryAuth:
    """What the built-in registry demands: nothing (default), or user:password via Bearer tokens or Basic."""

    def __init__(self, spec: str | None = None, scheme: str = "bearer"):
        self.set(spec, scheme)

    def set(self, spec: str | None, scheme: str = "bearer"):
        if spec and ":" not in spec:
            raise ValueError("registry auth must be USER:PASSWORD")
        if scheme not in ("bearer", "basic"):
            raise ValueError("registry auth scheme must be bearer or basic")
        self.user, _, self.password = (spec or "").partition(":")
        self.enabled = bool(spec)
        self.scheme = scheme
        self.tokens = set()

    def to_dict(self):
        return {"enabled": self.enabled, "scheme": self.scheme if self.enabled else None,
                **({"username": self.user} if self.enabled else {})}

    def basic_ok(self, header: str) -> bool:
        if not header.lower().startswith("basic "):
            return False
        try:
            user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
        except ValueError:
            return False
        return secrets.compare_digest(user, self.user) and secrets.compare_digest(password, self.password)


def routes(cluster) -> list[web.RouteDef]:
    auth = cluster.registry_auth if isinstance(getattr(cluster, "registry_auth", None), RegistryAuth) else RegistryAuth()
    cluster.registry_auth = auth

    def challenge(request, scope=None):
        if auth.scheme == "basic":
            header = 'Basic realm="dvpsim"'
        else:
            header = f'Bearer realm="{cluster.url}/dvpsim/registry/token",service="dvpsim"'
            if scope:
                header += f',scope="{scope}"'
        return _error(401, "UNAUTHORIZED", "authentication required", headers={"WWW-Authenticate": header})

    def denied(request, repository=None):
        """None if the request may read; else the 401 to answer with."""
        if not auth.enabled:
            return None
        header = request.headers.get("Authorization", "")
        if auth.scheme == "basic" and auth.basic_ok(header):
            return None
        if auth.scheme == "bearer" and header.startswith("Bearer ") and header[7:].strip() in auth.tokens:
            return None
        return challenge(request, f"repository:{repository}:pull" if repository else None)

    async def version_check(request):
        refused = denied(request)
        if refused is not None:
            return refused
        return web.json_response({}, headers={"Docker-Distribution-API-Version": "registry/2.0"})

    async def token(request):
        if not auth.enabled or auth.scheme != "bearer":
            raise web.HTTPNotFound()
        if not auth.basic_ok(request.headers.get("Authorization", "")):
            return _error(401, "UNAUTHORIZED", "authentication required",
                          headers={"WWW-Authenticate": 'Basic realm="dvpsim"'})
        value = secrets.token_urlsafe(24)
        auth.tokens.add(value)
        return web.json_response({"token": value, "access_token": value, "expires_in": 300})

    def lookup(request):
        repository = request.match_info["repo"]
        sample = _sample_for(repository)
        return repository, (_build(sample) if sample else None)

    async def manifest(request):
        repository, image = lookup(request)
        refused = denied(request, repository)
        if refused is not None:
            return refused
        if image is None:
            return _error(404, "NAME_UNKNOWN", "repository name not known to registry")
        ref = request.match_info["ref"]
        if ref not in ("latest", image.manifest_digest):
            return _error(404, "MANIFEST_UNKNOWN", "manifest unknown")
        response = web.Response(body=None if request.method == "HEAD" else image.manifest, headers={
            "Content-Type": OCI_MANIFEST, "Docker-Content-Digest": image.manifest_digest})
        if request.method == "HEAD":
            response.headers["Content-Length"] = str(len(image.manifest))
        return response

    async def blob(request):
        repository, image = lookup(request)
        refused = denied(request, repository)
        if refused is not None:
            return refused
        digest = request.match_info["digest"]
        data = image.blobs.get(digest) if image else None
        if data is None:
            return _error(404, "BLOB_UNKNOWN", "blob unknown to registry")
        response = web.StreamResponse(headers={"Content-Type": "application/octet-stream",
                                               "Docker-Content-Digest": digest})
        response.content_length = len(data)
        await response.prepare(request)
        if request.method == "HEAD":
            return response
        # Throttled on the cluster clock like the sample downloads, so progress is visible.
        from dvpsim import samples
        pause = samples.DOWNLOAD_SECONDS * CHUNK / len(data)
        for offset in range(0, len(data), CHUNK):
            await response.write(data[offset:offset + CHUNK])
            await cluster.clock.sleep(pause)
        await response.write_eof()
        return response

    async def catalog(request):
        refused = denied(request)
        if refused is not None:
            return refused
        from dvpsim import samples
        return web.json_response({"repositories": sorted(repository_of(s.name) for s in samples.SAMPLES)})

    @control._errors
    async def configure(request):
        control._admin(cluster, request)
        if request.method == "POST":
            try:
                body = json.loads(await request.read() or b"{}")
                auth.set(body.get("auth"), body.get("scheme", "bearer"))
            except (ValueError, AttributeError) as exc:
                raise BadRequest(str(exc)) from exc
        elif request.method == "DELETE":
            auth.set(None)
        return web.json_response(auth.to_dict())

    repo = r"{repo:[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*}"
    return [
        web.get("/v2/", version_check),
        web.get("/v2", version_check),
        web.get("/v2/_catalog", catalog),
        web.get(f"/v2/{repo}/manifests/{{ref}}", manifest),
        web.get(f"/v2/{repo}/blobs/{{digest}}", blob),
        web.get("/dvpsim/registry/token", token),
        web.route("*", "/dvpsim/registry/auth", configure),
    ]
