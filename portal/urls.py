from django.urls import include, path
from django.views.generic import RedirectView

from portal.auth import views as auth_views
from virtualization.storage_classes import storage_classes

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list"), name="home"),
    path("login/", auth_views.login, name="login"),
    path("logout/", auth_views.logout, name="logout"),
    # OIDC (DVP_AUTH=oidc): to the provider with state, nonce and PKCE, and back with the code.
    path("oidc/authenticate/", auth_views.oidc_start,
         name="oidc_authentication_init"),
    path("oidc/callback/", auth_views.oidc_callback,
         name="oidc_authentication_callback"),
    path("projects/", include("projects.urls")),
    path("system/storage/storage-classes/", storage_classes, name="storage-classes"),
    path("system/", include("system.urls")),
    path("projects/<str:project>/", include("virtualization.urls")),
]
