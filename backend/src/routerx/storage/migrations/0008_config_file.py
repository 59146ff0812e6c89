from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0005_request_api')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Provider',
            name='managed_by',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddField(
            model_name='RoutingRule',
            name='managed_by',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddField(
            model_name='Tenant',
            name='managed_by',
            field=fields.CharField(null=True, max_length=500),
        ),
        ops.AddField(
            model_name='ApiKey',
            name='managed_by',
            field=fields.CharField(null=True, max_length=500),
        ),
    ]
