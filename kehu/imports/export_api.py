"""Export of the customer list: GET /customers/export?format=csv|xlsx&<the list's filters>."""

from __future__ import annotations

from typing import Literal

from ninja import Query, Router, Schema

from kehu.imports.exports import export_response

router = Router(tags=["exports"])


class ExportQuery(Schema):
    format: Literal["csv", "xlsx"] = "csv"
    reveal: bool = False
    contacts: bool = False
    q: str | None = None
    industry: str | None = None
    city: str | None = None
    stage: str | None = None
    status: str | None = None
    kind: str | None = None
    owner: int | None = None
    department: int | None = None
    tag: int | None = None
    grade_policy: str | None = None
    grade: str | None = None


@router.get("/customers/export", summary="Export the filtered customer list (CSV or XLSX, audited)",
            response={200: None})
def customer_export(request, query: Query[ExportQuery]):
    data = query.dict()
    return export_response(request.user, filters=data, fmt=data.pop("format"), reveal=data.pop("reveal"),
                           contacts=data.pop("contacts"))
