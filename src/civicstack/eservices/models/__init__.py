from .applications import Application, ApplicationEvent, Attachment
from .catalog import BlankForm, FormDefinition, ServiceItem

__all__ = ["Application", "ApplicationEvent", "Attachment", "BlankForm", "FormDefinition", "ServiceItem"]
