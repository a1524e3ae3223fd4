from django.urls import include, path

from civicstack.api import api
from civicstack.core.admin import console
from civicstack.core.views import healthz

urlpatterns = [
    path("", include("civicstack.opendata.urls_root")),
    path("api/", api.urls),
    path("staff/", console.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("healthz", healthz, name="healthz"),
    path("payments/", include("civicstack.payments.urls")),
    path("fines/", include("civicstack.fines.urls")),
    path("card/", include("civicstack.card.urls")),
    path("eservices/", include("civicstack.eservices.urls")),
    path("opendata/", include("civicstack.opendata.urls")),
    path("welfare/", include("civicstack.welfare.urls")),
    path("chatbot/", include("civicstack.chatbot.urls")),
    path("iot/", include("civicstack.iot.urls")),
    path("analytics/", include("civicstack.analytics.urls")),
    path("", include("civicstack.core.urls")),
]

handler404 = "civicstack.core.views.page_not_found"
handler500 = "civicstack.core.views.server_error"
