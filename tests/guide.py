"""Material quoted from the user guide's quick start, shared by the tests."""

# The quick start's cloud-init: user "cloud" with password "cloud" (mkpasswd --method=SHA-512 --rounds=4096 -S saltsalt).
CLOUD_INIT = """#cloud-config
ssh_pwauth: True
users:
  - name: cloud
    passwd: "$6$rounds=4096$saltsalt$fPmUsbjAuA7mnQNTajQM6ClhesyG0.yyQhvahas02ejfMAq1ykBo1RquzS0R6GgdIDlvS.kbUwDablGZKZcTP/"
    shell: /bin/bash
    sudo: ALL=(ALL) NOPASSWD:ALL
    lock_passwd: False
"""
