from django.urls import reverse


def test_it_lists_only_the_projects_the_user_may_work_in(project, other_project, cast, login, db):
    page = login(cast.owner).get(reverse("projects:list")).content.decode()
    assert project in page
    assert other_project not in page

    page = login(cast.outsider).get(reverse("projects:list")).content.decode()
    assert other_project in page
    assert project not in page


def test_it_shows_the_operator_every_project(project, other_project, cast, login, db):
    page = login(cast.operator).get(reverse("projects:list")).content.decode()
    assert project in page and other_project in page


def test_it_shows_a_member_the_project_page(project, cast, login, db):
    response = login(cast.viewer).get(reverse("projects:detail", args=[project]))
    assert response.status_code == 200
    assert "Virtual Machines" in response.content.decode()


def test_it_hides_a_project_from_an_outsider(project, cast, login, db):
    assert login(cast.outsider).get(reverse("projects:detail", args=[project])).status_code == 404


def test_it_sends_anonymous_users_to_the_login_page(client, db):
    response = client.get(reverse("projects:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_logs_in_with_a_django_password(cast, client, django_user_model):
    django_user_model.objects.create_user(cast.owner, password="s3cret-pass")
    response = client.post(reverse("login"), {"username": cast.owner, "password": "s3cret-pass"})
    assert response.status_code == 302
    assert client.get(reverse("projects:list")).status_code == 200


def test_it_rejects_a_wrong_password(cast, client, django_user_model):
    django_user_model.objects.create_user(cast.owner, password="s3cret-pass")
    response = client.post(reverse("login"), {"username": cast.owner, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session


def test_it_lists_the_project_for_every_member_of_the_cast_but_the_outsider(project, owner, member, viewer, outsider):
    for client in (owner, member, viewer):
        assert project in client.get(reverse("projects:list")).content.decode()
    assert project not in outsider.get(reverse("projects:list")).content.decode()
