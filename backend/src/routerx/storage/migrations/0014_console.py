from tortoise import migrations
from tortoise.migrations import operations as ops
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0013_spend')]

    initial = False

    operations = [
        ops.AddField(
            model_name='ApiKey',
            name='expires_at',
            field=fields.DatetimeField(null=True),
        ),
        ops.AddField(
            model_name='ApiKey',
            name='replaced_by_id',
            field=fields.IntField(null=True),
        ),
    ]
