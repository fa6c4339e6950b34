"""The VM spec's vocabulary, shared by Create and the Configuration tab (and their templates and script)."""

# Inline cloud-init (spec.provisioning.userData) holds at most this many bytes; larger data goes into a Secret.
USERDATA_LIMIT = 2048

RUN_POLICIES = (
    ("AlwaysOnUnlessStoppedManually", "Always on unless stopped manually (default)"),
    ("AlwaysOn", "Always on"),
    ("Manual", "Manual"),
    ("AlwaysOff", "Always off"),
)
OS_TYPES = (("Generic", "Generic (Linux and others)"), ("Windows", "Windows"), ("Legacy", "Legacy"))
BOOTLOADERS = (("BIOS", "BIOS"), ("EFI", "EFI"), ("EFIWithSecureBoot", "EFI with Secure Boot"))
MIGRATION_POLICIES = (("PreferSafe", "Prefer safe (default)"), ("AlwaysSafe", "Always safe"),
                      ("PreferForced", "Prefer forced"), ("AlwaysForced", "Always forced"))
