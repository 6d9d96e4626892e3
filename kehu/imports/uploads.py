"""Upload size limit enforced while the request body is read, not after it was spooled to disk.

- ``LimitedUploadHandler`` (first of FILE_UPLOAD_HANDLERS): a body whose Content-Length is over the limit is
  not read at all; a file that grows over the limit while it streams (a Content-Length that lies, several
  files) stops the parse there (StopUpload, connection reset: the rest is never read). Django's temporary
  file of the part read so far is closed, hence deleted.
- ``UploadLimitMiddleware`` answers both cases with 413: the JSON error under /api/, a page elsewhere.

The limit is the import's (KEHU_IMPORT_MAX_BYTES) plus a little room for the multipart framing and the form's
other fields (KEHU_UPLOAD_FORM_OVERHEAD_BYTES); the file itself is held to KEHU_IMPORT_MAX_BYTES exactly."""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import JsonResponse
from django.utils.translation import gettext as _

TOO_LARGE = "_kehu_upload_too_large"


def file_limit() -> int:
    from kehu.imports.services import max_bytes

    return max_bytes()


def body_limit() -> int:
    return file_limit() + int(getattr(settings, "KEHU_UPLOAD_FORM_OVERHEAD_BYTES", 64 * 1024))


class LimitedUploadHandler(FileUploadHandler):
    """Counts the bytes of each uploaded file and of the whole body; stops reading at the limit."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.total = 0
        if content_length and content_length > body_limit():
            setattr(self.request, TOO_LARGE, True)
            raise StopUpload(connection_reset=True)
        return None

    def new_file(self, *args, **kwargs):
        super().new_file(*args, **kwargs)
        self.file_bytes = 0

    def receive_data_chunk(self, raw_data, start):
        self.file_bytes += len(raw_data)
        self.total = getattr(self, "total", 0) + len(raw_data)
        if self.file_bytes > file_limit() or self.total > body_limit():
            setattr(self.request, TOO_LARGE, True)
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def too_large_response(request):
    from django.template.defaultfilters import filesizeformat

    message = _("The upload is larger than %(size)s.") % {"size": filesizeformat(file_limit())}
    if request.path.startswith("/api/"):
        return JsonResponse({"error": {"code": "too_large", "message": message,
                                       "fields": {"file": [_("Too large.")]}}}, status=413)
    from django.shortcuts import render

    return render(request, "error.html", {"status": 413, "title": _("Upload too large"), "message": message},
                  status=413)


class UploadLimitMiddleware:
    """413 for a body over the limit, by Content-Length before anything reads it, or after the upload handler
    stopped reading a stream at the limit."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in ("POST", "PUT", "PATCH"):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > body_limit() and request.content_type == "multipart/form-data":
                return too_large_response(request)
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.method == "POST" and request.content_type == "multipart/form-data":
            from django.http.multipartparser import MultiPartParserError

            try:
                request.FILES  # noqa: B018 - parse now (the CSRF check would anyway), so a stopped upload is seen
            except MultiPartParserError:
                # A malformed multipart body (no boundary, truncated): the client's error, in our format.
                message = _("The upload could not be read: the form data is malformed.")
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": {"code": "bad_request", "message": message, "fields": {}}},
                                        status=400)
                from django.shortcuts import render

                return render(request, "error.html", {"status": 400, "title": _("Bad request"), "message": message},
                              status=400)
            if getattr(request, TOO_LARGE, False):
                return too_large_response(request)
        return None
