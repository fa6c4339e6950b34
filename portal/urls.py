from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from virtualization.storage_classes import storage_classes

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="projects:list"), name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="login.html", redirect_authenticated_user=True),
         name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/", include("projects.urls")),
    path("system/storage/storage-classes/", storage_classes, name="storage-classes"),
    path("projects/<str:project>/", include("virtualization.urls")),
]
