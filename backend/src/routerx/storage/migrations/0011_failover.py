from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0010_clouds')]

    initial = False

    operations = [
        ops.AddField(
            model_name='RoutingRule',
            name='stream_rescue',
            field=fields.CharField(default='error', max_length=16),
        ),
        ops.AddField(
            model_name='RoutingRule',
            name='on_transient',
            field=fields.CharField(default='retry_same', max_length=16),
        ),
    ]
