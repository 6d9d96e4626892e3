"""Who may use the import API (REQUIREMENTS §2: roles and data scopes on every endpoint): anonymous 401,
without customer.import 403, a job outside the caller's scope 404; the uploader alone runs a job."""

from __future__ import annotations

import pytest

from kehu.imports.models import ImportJob, ImportMapping
from kehu.imports.samples import csv_bytes, sheet_rows

JOB_ENDPOINTS = [
    ("get", "/imports/{id}", None),
    ("post", "/imports/{id}/dry-run", {}),
    ("get", "/imports/{id}/errors", None),
    ("post", "/imports/{id}/commit", {"mode": "valid"}),
    ("post", "/imports/{id}/cancel", {}),
    ("post", "/imports/{id}/resume", {}),
]
MAPPING_ENDPOINTS = [("get", "/import-mappings/{id}", None), ("delete", "/import-mappings/{id}", None)]


@pytest.fixture
def job(org, upload):
    r = upload(org.rep, "客户.csv", csv_bytes(sheet_rows(3)))
    assert r.status_code == 201
    return ImportJob.objects.get(pk=r.json()["id"])


@pytest.fixture
def mapping(org):
    return ImportMapping.objects.create(user=org.rep, name="默认", mapping={"单位": "name"})


def _call(api_client, method, path, body):
    if method == "get":
        return api_client.get(path)
    if method == "delete":
        return api_client.delete(path)
    return api_client.post(path, body)


def test_anonymous_callers_get_401_everywhere(org, job, mapping, api_client, client):
    api_client.as_user(None)
    for method, path, body in JOB_ENDPOINTS:
        assert _call(api_client, method, path.format(id=job.pk), body).status_code == 401, path
    for method, path, body in MAPPING_ENDPOINTS:
        assert _call(api_client, method, path.format(id=mapping.pk), body).status_code == 401, path
    assert api_client.get("/imports").status_code == 401
    assert api_client.get("/import-mappings").status_code == 401
    assert api_client.post("/import-mappings", {"name": "x", "mapping": {}}).status_code == 401
    assert client.post("/api/v1/imports", {}).status_code == 401


@pytest.mark.parametrize("role_user", ["agent", "finance", "analyst", "auditor"])
def test_roles_without_the_import_permission_get_403(org, job, mapping, api_client, upload, role_user):
    user = getattr(org, role_user)
    api_client.as_user(user)
    for method, path, body in JOB_ENDPOINTS:
        assert _call(api_client, method, path.format(id=job.pk), body).status_code == 403, path
    for method, path, body in MAPPING_ENDPOINTS:
        assert _call(api_client, method, path.format(id=mapping.pk), body).status_code == 403, path
    assert api_client.get("/imports").status_code == 403
    assert api_client.get("/imports/fields").status_code == 403
    assert api_client.get("/import-mappings").status_code == 403
    assert api_client.post("/import-mappings", {"name": "x", "mapping": {}}).status_code == 403
    assert upload(user, "a.csv", csv_bytes(sheet_rows(1))).status_code == 403
    assert not ImportJob.objects.exclude(pk=job.pk).exists()


@pytest.mark.parametrize("outsider", ["rep2", "north_manager", "north_rep"])
def test_a_job_or_mapping_outside_the_callers_scope_is_404(org, job, mapping, api_client, outsider):
    api_client.as_user(getattr(org, outsider))
    for method, path, body in JOB_ENDPOINTS:
        assert _call(api_client, method, path.format(id=job.pk), body).status_code == 404, path
    for method, path, body in MAPPING_ENDPOINTS:
        assert _call(api_client, method, path.format(id=mapping.pk), body).status_code == 404, path
    assert api_client.get("/imports").json()["items"] == []
    assert api_client.get("/imports/999999").status_code == 404


def test_the_department_manager_and_admin_see_the_job_but_only_the_uploader_runs_it(org, job, api_client):
    for viewer in (org.manager, org.admin, org.executive):
        api_client.as_user(viewer)
        assert [j["id"] for j in api_client.get("/imports").json()["items"]] == [job.pk]
        assert api_client.get(f"/imports/{job.pk}").status_code == 200
        assert api_client.post(f"/imports/{job.pk}/dry-run", {}).status_code == 403
    # A manager in scope may stop it, though.
    assert api_client.as_user(org.manager).post(f"/imports/{job.pk}/cancel").status_code == 200


def test_list_is_paginated_with_a_bounded_number_of_queries(org, upload, api_client,
                                                            django_assert_max_num_queries):
    for i in range(4):
        upload(org.rep, f"{i}.csv", csv_bytes(sheet_rows(1, start=i)))
    api_client.as_user(org.rep)
    first = api_client.get("/imports", {"limit": 3}).json()
    assert len(first["items"]) == 3 and first["next"]
    second = api_client.get("/imports", {"limit": 3, "cursor": first["next"]}).json()
    assert len(second["items"]) == 1 and second["next"] is None
    with django_assert_max_num_queries(6):
        api_client.get("/imports", {"limit": 50})


def test_state_conflicts_are_409(org, job, api_client):
    api_client.as_user(org.rep)
    assert api_client.post(f"/imports/{job.pk}/commit", {"mode": "valid"}).status_code == 409  # not checked yet
    assert api_client.post(f"/imports/{job.pk}/resume").status_code == 409
    assert api_client.post(f"/imports/{job.pk}/commit", {"mode": "bogus"}).status_code == 422
    assert api_client.post(f"/imports/{job.pk}/cancel").status_code == 200
    assert api_client.post(f"/imports/{job.pk}/cancel").status_code == 409
    assert api_client.post(f"/imports/{job.pk}/dry-run", {}).status_code == 409


def test_fields_and_mapping_crud(org, api_client):
    api_client.as_user(org.rep)
    keys = [f["key"] for f in api_client.get("/imports/fields").json()]
    assert "name" in keys and "contact_mobile" in keys
    r = api_client.post("/import-mappings", {"name": "ERP", "mapping": {"客户全称": "name"}})
    assert r.status_code == 201
    assert api_client.post("/import-mappings", {"name": "坏", "mapping": {"x": "nonsense"}}).status_code == 422
    assert api_client.delete(f"/import-mappings/{r.json()['id']}").status_code == 204
    assert api_client.get("/import-mappings").json() == []
