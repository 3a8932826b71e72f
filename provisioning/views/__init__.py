"""The Azure console (``/azure/``), one module per blade:

- ``base``: staff-only access, the directory and application resolved from the URL;
- ``directory``: directories, users, groups, imports;
- ``applications``: enterprise applications, their overview and assignments;
- ``provisioning``: the Provisioning blade (credentials, Test Connection, settings);
- ``mappings``: attribute mappings, the expression check, scoping filters;
- ``status``: the Current status panel and its controls, provisioning and audit logs;
- ``ondemand``: provision on demand;
- ``validator``: the SCIM Validator.

The URLconf names its views from here.
"""

from provisioning.views.applications import (
    ApplicationGalleryView,
    ApplicationListView,
    ApplicationOverviewView,
    ApplicationUsersGroupsView,
)
from provisioning.views.directory import (
    DirectoryOverviewView,
    GroupEditView,
    GroupListView,
    HomeView,
    ImportJobView,
    ImportView,
    UserEditView,
    UserListView,
)
from provisioning.views.mappings import (
    AttributeMappingView,
    EditAttributeView,
    ExpressionValidateView,
    ScopingFilterEditView,
    SourceObjectScopeView,
)
from provisioning.views.ondemand import ProvisionOnDemandView
from provisioning.views.provisioning import ProvisioningView, TestConnectionView
from provisioning.views.status import (
    ApplicationAuditLogView,
    ProvisioningControlView,
    ProvisioningLogDetailView,
    ProvisioningLogListView,
    ProvisioningStatusView,
)
from provisioning.views.validator import (
    ScimValidationRunJsonView,
    ScimValidationRunView,
    ScimValidatorView,
)

__all__ = [
    "ApplicationAuditLogView",
    "ApplicationGalleryView",
    "ApplicationListView",
    "ApplicationOverviewView",
    "ApplicationUsersGroupsView",
    "AttributeMappingView",
    "DirectoryOverviewView",
    "EditAttributeView",
    "ExpressionValidateView",
    "GroupEditView",
    "GroupListView",
    "HomeView",
    "ImportJobView",
    "ImportView",
    "ProvisionOnDemandView",
    "ProvisioningControlView",
    "ProvisioningLogDetailView",
    "ProvisioningLogListView",
    "ProvisioningStatusView",
    "ProvisioningView",
    "ScimValidationRunJsonView",
    "ScimValidationRunView",
    "ScimValidatorView",
    "ScopingFilterEditView",
    "SourceObjectScopeView",
    "TestConnectionView",
    "UserEditView",
    "UserListView",
]
