from django.db import migrations
from django.db.models.functions import Lower


def lower_case_cpe_names(apps, schema_editor):
    """Components saved before names were kept in lower case (the registry accepted `cpe:2.3:a:Apache:…`)."""
    Component = apps.get_model("registry", "Component")
    Component.objects.exclude(cpe23=Lower("cpe23")).update(cpe23=Lower("cpe23"))


class Migration(migrations.Migration):
    dependencies = [("registry", "0002_list_order_indexes")]

    operations = [migrations.RunPython(lower_case_cpe_names, migrations.RunPython.noop)]
