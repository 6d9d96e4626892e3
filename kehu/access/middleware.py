from kehu.access.context import current_ip


class RequestContextMiddleware:
    """Remember the client IP for the audit log while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = current_ip.set(request.META.get("REMOTE_ADDR"))
        try:
            return self.get_response(request)
        finally:
            current_ip.reset(token)


class ChineseFirstMiddleware:
    """Pages are Chinese unless the user chose English with the language switch (a cookie): a
    browser's Accept-Language is not a choice. The API still honours Accept-Language."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith("/api/"):
            request.META.pop("HTTP_ACCEPT_LANGUAGE", None)
        return self.get_response(request)
