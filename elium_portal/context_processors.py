def portal(request):
    """Values every page of the app shell needs."""
    return {"current_tenant": getattr(request, "tenant", None)}
