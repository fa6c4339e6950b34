"""Create the demo users (the names dvpsim --demo gives RBAC to), with passwords from the environment.

DVP_DEMO_PASSWORD sets every demo user's password; DVP_DEMO_PASSWORD_<NAME> (e.g.
DVP_DEMO_PASSWORD_ALICE) overrides it for one user. Without either, the password is "demo".
"""
import os

from django.contrib.auth import get_user_model

from portal.auth.identity import sync_groups
from django.core.management.base import BaseCommand

DEMO_USERS = [
    ("operator", "cluster operator (cluster-admin)"),
    ("alice", "manager of project-a"),
    ("victor", "viewer of project-a"),
    ("bob", "manager of project-b"),
    ("greta", "manager of project-a through her group project-a-team only"),
]
# The demo's groups (dvpsim --demo binds project-a-team); local accounts' groups are their Django groups.
DEMO_GROUPS = {"greta": ("project-a-team", "employees")}


def demo_password(username):
    return os.environ.get(f"DVP_DEMO_PASSWORD_{username.upper()}") or os.environ.get("DVP_DEMO_PASSWORD") or "demo"


class Command(BaseCommand):
    help = "Create or update the demo users of the embedded dvpsim cluster."

    def handle(self, *args, **options):
        User = get_user_model()
        for username, role in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(demo_password(username))
            user.save()
            sync_groups(user, DEMO_GROUPS.get(username, ()))
            self.stdout.write(f"  {username:<9} {role}")
