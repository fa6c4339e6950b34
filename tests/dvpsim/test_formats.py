"""Image format detection and size strings, without a server."""

import gzip
import lzma

from dvpsim import formats, quantity, samples


def sniff(data: bytes, chunk: int = 4096) -> tuple[formats.ImageInfo, formats.ImageSniffer]:
    sniffer = formats.ImageSniffer()
    for offset in range(0, len(data), chunk):
        sniffer.feed(data[offset:offset + chunk])
    return sniffer.finish(), sniffer


def test_it_reads_the_virtual_size_from_a_qcow2_header():
    info, sniffer = sniff(samples.qcow2(int(3.5 * 1024**3), 200_000))
    assert (info.format, info.cdrom, info.virtual_size) == ("qcow2", False, int(3.5 * 1024**3))
    assert sniffer.stored_bytes == 200_000


def test_it_recognises_an_iso_by_its_volume_descriptor():
    info, _ = sniff(samples.iso(64 * 1024))
    assert (info.format, info.cdrom) == ("iso", True)


def test_it_recognises_vmdk_and_vdi():
    assert sniff(samples.vmdk(1024**3, 4096))[0].format == "vmdk"
    vdi = bytearray(0x200)
    vdi[0x40:0x44] = (0xBEDA107F).to_bytes(4, "little")
    vdi[0x170:0x178] = (5 * 1024**3).to_bytes(8, "little")
    info, _ = sniff(bytes(vdi))
    assert (info.format, info.virtual_size) == ("vdi", 5 * 1024**3)


def test_it_decompresses_gzip_and_xz_on_the_fly():
    disk = samples.raw(2 * 1024**2)
    for packed, name in ((gzip.compress(disk), "gz"), (lzma.compress(disk), "xz")):
        info, sniffer = sniff(packed, chunk=1000)
        assert sniffer.compression == name
        assert info.format == "raw"
        assert sniffer.unpacked_bytes == len(disk) == info.virtual_size
        assert sniffer.stored_bytes == len(packed)


def test_it_sees_a_compressed_qcow2_through_the_compression():
    info, _ = sniff(gzip.compress(samples.qcow2(1024**3, 100_000)))
    assert (info.format, info.virtual_size) == ("qcow2", 1024**3)


def test_it_treats_unknown_bytes_as_raw():
    info, _ = sniff(b"hello world" * 10)
    assert (info.format, info.virtual_size) == ("raw", 110)


def test_it_writes_sizes_the_way_dvp_does():
    assert quantity.humanize(int(285.9 * 1024**2)) == "285.9Mi"
    assert quantity.humanize(int(2.5 * 1024**3)) == "2.5Gi"
    assert quantity.humanize(200 * 1024**2) == "200Mi"
    assert quantity.to_binary_quantity(10 * 1024**3) == "10Gi"
    assert quantity.to_binary_quantity(2590 * 1024**2) == "2590Mi"
    assert quantity.parse_bytes("1Gi") == 1024**3
    assert quantity.parse_bytes("1G") == 10**9
    assert not quantity.is_quantity("ten gigs")
