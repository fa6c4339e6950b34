"""Container images over the OCI distribution API: the puller DVP's importer is (dvpsim's own read-only
registry is dvpsim.registry_server).

Pulling (`pull`): parse the reference like docker does, ping `/v2/`, authenticate (anonymous, Basic,
or the Bearer token flow announced by `WWW-Authenticate`), fetch the manifest (an index is
resolved to linux/amd64), then stream every layer blob: its sha256 is checked, gzip is undone, the
tar is read entry by entry and the one regular file under `disk/` (the DVP container-disk format:
"FROM scratch / COPY x.img /disk/x.img") is fed to the same `ImageSniffer` HTTP imports use.
"""

import base64
import hashlib
import ipaddress
import json
import re
import ssl
import tarfile
import zlib
from dataclasses import dataclass
from urllib.parse import urlencode

import aiohttp

from dvpsim.controllers import importer
from dvpsim.formats import ImageInfo, ImageSniffer

CHUNK = 64 * 1024

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
MANIFEST_ACCEPT = f"{OCI_MANIFEST}, {OCI_INDEX}, {DOCKER_MANIFEST}, {DOCKER_LIST}"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"  # where docker.io's /v2/ really lives
_DOCKER_HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io"}

DISK_DIR = "disk/"


class PullFailed(Exception):
    pass


# ---- references -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Reference:
    registry: str    # host[:port] as written (docker.io for Docker Hub)
    repository: str  # library/ubuntu for a bare "ubuntu" on Docker Hub
    tag: str | None
    digest: str | None

    @property
    def api_host(self) -> str:
        return DOCKER_HUB_API if self.registry == DOCKER_HUB else self.registry

    @property
    def ref(self) -> str:
        """What goes after /manifests/: the digest wins over the tag, as in docker."""
        return self.digest or self.tag or "latest"

    def __str__(self):
        return f"{self.registry}/{self.repository}" + (f":{self.tag}" if self.tag else "") + \
            (f"@{self.digest}" if self.digest else "")


def parse_reference(image: str) -> Reference:
    """`[host[:port]/]repo[:tag][@digest]` with docker's defaults (docker.io, library/, latest)."""
    name, _, digest = image.partition("@")
    tag = None
    slash, colon = name.rfind("/"), name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
    first, sep, rest = name.partition("/")
    # Like docker: the first component is a registry only if it looks like a host.
    if sep and ("." in first or ":" in first or first == "localhost"):
        registry, repository = first, rest
    else:
        registry, repository = DOCKER_HUB, name
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = "library/" + repository
    if not repository:
        raise PullFailed(f"invalid reference format: {image!r}")
    if not digest and not tag:
        tag = "latest"
    return Reference(registry, repository, tag, digest or None)


def _is_loopback(host: str) -> bool:
    """host[:port] names this machine: localhost, 127.0.0.0/8, [::1]."""
    if host.startswith("["):
        host = host[1:].split("]", 1)[0]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# ---- credentials from a kubernetes.io/dockerconfigjson Secret ------------------------------

def credentials_from_secret(secret: dict, registry: str) -> tuple[str, str] | None:
    """The username and password the docker config in `secret` holds for `registry`, if any."""
    raw = (secret.get("stringData") or {}).get(".dockerconfigjson")
    if raw is None:
        encoded = (secret.get("data") or {}).get(".dockerconfigjson")
        if encoded is None:
            return None
        try:
            raw = base64.b64decode(encoded).decode()
        except ValueError:
            return None
    try:
        auths = json.loads(raw).get("auths") or {}
    except (ValueError, AttributeError):
        return None
    wanted = _DOCKER_HUB_ALIASES if registry == DOCKER_HUB else {registry}
    for key, entry in auths.items():
        host = re.sub(r"^[a-z]+://", "", key).split("/", 1)[0]
        if host not in wanted or not isinstance(entry, dict):
            continue
        if entry.get("username") is not None and entry.get("password") is not None:
            return entry["username"], entry["password"]
        if entry.get("auth"):
            try:
                user, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
            except ValueError:
                continue
            return user, password
    return None


class SecretNotFound(Exception):
    """DVP's source.ErrSecretNotFound: the imagePullSecret names a Secret that does not exist."""


def pull_credentials(cluster, namespace, container_image: dict) -> tuple[str, str] | None:
    """The credentials of `containerImage.imagePullSecret` for the image's registry (None: anonymous).

    `namespace` is where the Secret lives: the object's own for VirtualImage and VirtualDisk,
    `imagePullSecret.namespace` for ClusterVirtualImage (dvp-api-notes.md §3.1)."""
    name = (container_image.get("imagePullSecret") or {}).get("name")
    if not name:
        return None
    from dvpsim import kinds
    secret = cluster.store.get(kinds.get("Secret"), namespace, name) if namespace else None
    if secret is None:
        raise SecretNotFound("container registry secret not found")
    try:
        return credentials_from_secret(secret, parse_reference(container_image.get("image", "")).registry)
    except PullFailed:
        return None  # pulling reports the bad reference


# ---- pulling ---------------------------------------------------------------------------------

def _registry_error(response_text: str) -> str | None:
    try:
        errors = json.loads(response_text).get("errors") or []
    except (ValueError, AttributeError):
        return None
    parts = [f"{e.get('code', 'UNKNOWN')}: {e.get('message', '')}" for e in errors if isinstance(e, dict)]
    return "; ".join(parts) or None


async def _status_error(method: str, url: str, response: aiohttp.ClientResponse) -> PullFailed:
    # Phrased like go-containerregistry (the library behind DVP's importer).
    text = await response.text(errors="replace")
    detail = _registry_error(text) or f"unexpected status code {response.status} {response.reason}"
    return PullFailed(f"{method} {url}: {detail}")


def _parse_challenge(header: str) -> tuple[str, dict]:
    scheme, _, rest = header.strip().partition(" ")
    params = {k.lower(): v for k, v in re.findall(r'(\w+)="([^"]*)"', rest)}
    return scheme.lower(), params


class _Layer:
    """One layer blob as it streams in: digest, gzip, tar; the disk file's bytes go to a sniffer."""

    def __init__(self, digest: str, media_type: str, found):
        self.expected = digest
        self.media_type = media_type or ""
        self.hasher = hashlib.sha256()
        self.found = found  # found(path) -> sink with feed(), or None to skip the entry
        self._decoder = None
        self._started = False
        self._buf = b""
        self._remaining = 0   # bytes of the current entry's data still to come
        self._padding = 0
        self._sink = None
        self._meta = None     # collecting a pax / GNU long-name record
        self._next_name = None
        self._ended = False

    def feed(self, chunk: bytes):
        self.hasher.update(chunk)
        if not self._started:
            self._started = True
            if chunk[:4] == b"\x28\xb5\x2f\xfd" or "zstd" in self.media_type:
                raise PullFailed(f"layer {self.expected}: zstd-compressed layers are not supported")
            if chunk[:2] == b"\x1f\x8b":
                self._decoder = zlib.decompressobj(wbits=31)
        if self._decoder is not None:
            try:
                chunk = self._decoder.decompress(chunk)
            except zlib.error as exc:
                raise PullFailed(f"layer {self.expected}: corrupted gzip stream: {exc}") from exc
        self._tar(chunk)

    def finish(self):
        if self._decoder is not None:
            self._tar(self._decoder.flush())
        actual = "sha256:" + self.hasher.hexdigest()
        if self.expected.startswith("sha256:") and actual != self.expected:
            raise PullFailed(f"error verifying sha256 checksum of layer {self.expected}: got {actual}")
        if self._remaining or (self._buf and not self._ended):
            raise PullFailed(f"layer {self.expected}: unexpected EOF in the tar stream")

    def _tar(self, data: bytes):
        while data and not self._ended:
            if self._remaining:
                piece, data = data[:self._remaining], data[self._remaining:]
                self._remaining -= len(piece)
                if self._meta is not None:
                    self._meta += piece
                elif self._sink is not None:
                    try:
                        self._sink.feed(piece)
                    except ValueError as exc:
                        raise PullFailed(str(exc)) from exc
                if not self._remaining:
                    self._entry_done()
                continue
            if self._padding:
                skip = min(self._padding, len(data))
                self._padding -= skip
                data = data[skip:]
                continue
            need = 512 - len(self._buf)
            self._buf += data[:need]
            data = data[need:]
            if len(self._buf) == 512:
                header, self._buf = self._buf, b""
                self._header(header)

    def _header(self, block: bytes):
        if block == bytes(512):
            self._ended = True
            return
        try:
            info = tarfile.TarInfo.frombuf(block, "utf-8", "surrogateescape")
        except tarfile.TarError as exc:
            raise PullFailed(f"layer {self.expected}: not a tar archive: {exc}") from exc
        size = info.size
        self._padding = (-size) % 512
        self._remaining = size
        self._sink = None
        self._meta = None
        self._type = info.type
        if info.type in (tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME):
            self._meta = b""
        elif info.type != tarfile.XGLTYPE:
            name = self._next_name if self._next_name is not None else info.name
            self._next_name = None
            if info.type in tarfile.REGULAR_TYPES:
                self._sink = self.found(name)
        if not size:
            self._entry_done()

    def _entry_done(self):
        if self._meta is not None:
            if self._type == tarfile.GNUTYPE_LONGNAME:
                self._next_name = self._meta.rstrip(b"\0").decode("utf-8", "surrogateescape")
            else:
                for match in re.finditer(rb"\d+ path=([^\n]*)\n", self._meta):
                    self._next_name = match.group(1).decode("utf-8", "surrogateescape")
            self._meta = None
        self._sink = None


class _DiskFinder:
    """Collects the regular files under disk/ across the layers; the disk is the only one."""

    def __init__(self):
        self.files = {}  # path -> ImageSniffer

    def __call__(self, path: str):
        while path.startswith("./"):
            path = path[2:]
        path = path.lstrip("/")
        if not path.startswith(DISK_DIR) or path == DISK_DIR:
            return None
        directory, _, base = path.rpartition("/")
        if base == ".wh..wh..opq":  # an opaque whiteout hides everything lower layers put in the directory
            for lower in [p for p in self.files if p.startswith(directory + "/")]:
                del self.files[lower]
            return None
        if base.startswith(".wh."):  # a whiteout removes what a lower layer put there
            self.files.pop(directory + "/" + base[4:], None)
            return None
        self.files[path] = ImageSniffer()
        return self.files[path]

    def disk(self) -> tuple[str, ImageSniffer]:
        if not self.files:
            raise PullFailed("no disk image in the container image: expected a single file under /disk/")
        if len(self.files) > 1:
            raise PullFailed("more than one file under /disk/: " + ", ".join("/" + p for p in sorted(self.files)))
        return next(iter(self.files.items()))


class _Puller:
    def __init__(self, session, ref: Reference, credentials, ssl_context):
        self.session = session
        self.ref = ref
        self.credentials = credentials
        self.ssl = ssl_context
        self.base = None
        self.headers = {}

    async def ping(self):
        # https always comes first. Plain http is tried only for loopback / localhost registries, like
        # docker's and go-containerregistry's default insecure registries; every other host needs TLS
        # (the CRD: "Only registries with enabled TLS protocol are supported").
        schemes = ["https", "http"] if _is_loopback(self.ref.api_host) else ["https"]
        errors = []
        for scheme in schemes:
            url = f"{scheme}://{self.ref.api_host}/v2/"
            try:
                async with self.session.get(url, ssl=self._ssl(url)) as response:
                    self.base = f"{scheme}://{self.ref.api_host}"
                    if response.status == 401:
                        await self._authenticate(response.headers.get("WWW-Authenticate", ""))
                    elif response.status != 200:
                        raise await _status_error("GET", url, response)
                    return
            except aiohttp.ClientConnectorCertificateError as exc:
                reason = getattr(exc.certificate_error, "verify_message", None) or exc.certificate_error
                errors.append((exc, f'Get "{url}": tls: failed to verify certificate: {reason}'))
            except aiohttp.ClientSSLError as exc:
                errors.append((exc, f'Get "{url}": tls: {exc}'))
            except aiohttp.ClientConnectorError as exc:
                errors.append((exc, importer._dial_error(url, exc)))
            except aiohttp.ClientError as exc:
                errors.append((exc, f'Get "{url}": {type(exc).__name__}: {exc}'))
        # A certificate the CA bundle cannot verify says more than the plain-http retry's failure.
        for exc, message in errors:
            if isinstance(exc, aiohttp.ClientConnectorCertificateError):
                raise PullFailed(message)
        raise PullFailed(errors[-1][1])

    async def _authenticate(self, challenge: str):
        scheme, params = _parse_challenge(challenge)
        if scheme == "basic":
            if self.credentials is None:
                raise PullFailed(f"GET {self.base}/v2/: UNAUTHORIZED: authentication required")
            self.headers = {"Authorization": aiohttp.BasicAuth(*self.credentials).encode()}
            return
        if scheme != "bearer" or not params.get("realm"):
            raise PullFailed(f"unsupported authentication challenge: {challenge!r}")
        query = {"scope": f"repository:{self.ref.repository}:pull"}
        if params.get("service"):
            query["service"] = params["service"]
        url = f"{params['realm']}?{urlencode(query)}"
        auth = aiohttp.BasicAuth(*self.credentials) if self.credentials else None
        async with self.session.get(url, auth=auth, ssl=self._ssl(url)) as response:
            if response.status != 200:
                raise await _status_error("GET", url, response)
            body = await response.json(content_type=None)
        token = body.get("token") or body.get("access_token")
        if not token:
            raise PullFailed(f"GET {url}: no token in the response")
        self.headers = {"Authorization": f"Bearer {token}"}

    async def manifest(self, ref: str) -> tuple[dict, str]:
        url = f"{self.base}/v2/{self.ref.repository}/manifests/{ref}"
        async with self.session.get(url, headers={**self.headers, "Accept": MANIFEST_ACCEPT},
                                    ssl=self._ssl(url)) as response:
            if response.status != 200:
                raise await _status_error("GET", url, response)
            body = await response.read()
            media_type = response.headers.get("Content-Type", "").split(";")[0].strip()
        if ref.startswith("sha256:"):
            actual = "sha256:" + hashlib.sha256(body).hexdigest()
            if actual != ref:
                raise PullFailed(f"manifest digest: {actual!r} does not match requested digest: {ref!r}")
        try:
            manifest = json.loads(body)
        except ValueError as exc:
            raise PullFailed(f"GET {url}: the manifest is not JSON: {exc}") from exc
        return manifest, manifest.get("mediaType") or media_type

    async def image_manifest(self) -> dict:
        manifest, media_type = await self.manifest(self.ref.ref)
        if media_type in INDEX_TYPES or "manifests" in manifest:
            for entry in manifest.get("manifests") or []:
                platform = entry.get("platform") or {}
                if platform.get("os") == "linux" and platform.get("architecture") == "amd64":
                    manifest, media_type = await self.manifest(entry["digest"])
                    break
            else:
                raise PullFailed(f"no child with platform linux/amd64 in index {self.ref}")
        if media_type not in (OCI_MANIFEST, DOCKER_MANIFEST) and "layers" not in manifest:
            raise PullFailed(f"unsupported manifest media type {media_type!r}")
        return manifest

    async def blob(self, layer: _Layer, on_chunk):
        url = f"{self.base}/v2/{self.ref.repository}/blobs/{layer.expected}"
        async with self.session.get(url, headers=self.headers, ssl=self._ssl(url)) as response:
            if response.status != 200:
                raise await _status_error("GET", url, response)
            async for chunk in response.content.iter_chunked(CHUNK):
                layer.feed(chunk)
                await on_chunk(len(chunk))
        layer.finish()

    def _ssl(self, url):
        return self.ssl if url.startswith("https:") else None


async def pull(image: str, credentials, ca_bundle, on_progress) -> tuple[ImageInfo, ImageSniffer]:
    """Pull `image` and read the disk in it; on_progress(importer.Progress) is awaited per chunk."""
    try:
        ref = parse_reference(image)
        ssl_context = importer._ssl_context(ca_bundle)
    except (ValueError, ssl.SSLError) as exc:
        raise PullFailed(f"{type(exc).__name__}: {exc}") from exc
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=60)
    finder = _DiskFinder()
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            puller = _Puller(session, ref, credentials, ssl_context)
            await puller.ping()
            manifest = await puller.image_manifest()
            layers = manifest.get("layers") or []
            total = sum(int(layer.get("size") or 0) for layer in layers) or None
            received = 0
            meter = importer.Meter(total)

            async def on_chunk(n):
                nonlocal received
                received += n
                await on_progress(meter.reading(received))

            for layer in layers:
                await puller.blob(_Layer(layer.get("digest", ""), layer.get("mediaType"), finder), on_chunk)
    except (PullFailed, importer.ImportFailed):
        raise
    except aiohttp.ClientConnectorError as exc:
        raise PullFailed(importer._dial_error(str(exc.host), exc)) from exc
    except (TimeoutError, aiohttp.ClientError, ssl.SSLError) as exc:
        raise PullFailed(f"{type(exc).__name__}: {exc}") from exc
    _path, sniffer = finder.disk()
    try:
        info = sniffer.finish()
    except ValueError as exc:
        raise PullFailed(str(exc)) from exc
    return info, sniffer
