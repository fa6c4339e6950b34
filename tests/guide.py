"""Material quoted from the user guide's quick start, shared by the tests."""

# The quick start's cloud-init: user "cloud" with password "cloud" (mkpasswd --method=SHA-512 --rounds=4096 -S
# saltsalt). The demo cluster's VM boots with the same text, so one copy serves both.
from dvpsim.demo import GUIDE_USER_DATA as CLOUD_INIT

__all__ = ["CLOUD_INIT"]
