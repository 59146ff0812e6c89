from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0011_failover')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Tenant',
            name='max_concurrency',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='ApiKey',
            name='max_concurrency',
            field=fields.IntField(null=True),
        ),
        ops.AddField(
            model_name='RequestLog',
            name='client_request_id',
            field=fields.CharField(null=True, db_index=True, max_length=64),
        ),
    ]
