"""A throw-away self-signed certificate for the HTTPS listener.

kubectl (client-go) sends credentials only over TLS, so dvpsim serves HTTPS next to
plain HTTP and points the kubeconfig at it, embedding the certificate as the CA.
"""

import datetime
import ipaddress
import os
import ssl
import tempfile

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def self_signed(host="127.0.0.1"):
    """(cert_pem, key_pem) valid for `host`, 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dvpsim")])
    now = datetime.datetime.now(datetime.timezone.utc)
    alt = {x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))}
    try:
        alt.add(x509.IPAddress(ipaddress.ip_address(host)))
    except ValueError:
        alt.add(x509.DNSName(host))
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=365))
            .add_extension(x509.SubjectAlternativeName(sorted(alt, key=str)), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return cert_pem, key_pem


def server_context(cert_pem, key_pem):
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as d:
        cert_path, key_path = os.path.join(d, "tls.crt"), os.path.join(d, "tls.key")
        with open(cert_path, "wb") as f:
            f.write(cert_pem)
        with open(os.open(key_path, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(key_pem)
        ctx.load_cert_chain(cert_path, key_path)
    return ctx
