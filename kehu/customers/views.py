from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from kehu.customers import selectors


@login_required
def customer_list(request):
    page = selectors.customer_list(actor=request.user, q=request.GET.get("q"), limit=50)
    return render(request, "customers/list.html", {"page": page})
