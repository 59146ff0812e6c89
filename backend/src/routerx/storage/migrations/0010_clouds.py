from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0008_config_file')]

    initial = False

    operations = [
        ops.AddField(
            model_name='RoutingRule',
            name='hedge_delay_auto',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='RoutingRule',
            name='balancing',
            field=fields.CharField(default='weighted', max_length=16),
        ),
    ]
