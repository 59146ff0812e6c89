from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('models', '0012_hardening')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Budget',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(max_length=8)),
                ('subject_id', fields.IntField()),
                ('amount_pico', fields.BigIntField()),
                ('period', fields.CharField(max_length=8)),
                ('thresholds', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('action', fields.CharField(default='refuse', max_length=16)),
                ('downgrade_model', fields.CharField(null=True, max_length=200)),
                ('webhook_url', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'budgets', 'app': 'models', 'unique_together': (('scope', 'subject_id'),), 'pk_attr': 'id', 'table_description': 'At most one budget per tenant and per key.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='BudgetAlert',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(max_length=8)),
                ('subject_id', fields.IntField()),
                ('period', fields.CharField(max_length=16)),
                ('threshold', fields.IntField()),
                ('spent_pico', fields.BigIntField()),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('delivered', fields.BooleanField(default=False)),
            ],
            options={'table': 'budget_alerts', 'app': 'models', 'unique_together': (('scope', 'subject_id', 'period', 'threshold'),), 'pk_attr': 'id', 'table_description': 'One row per threshold crossed per period: the unique key makes it fire once.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='PriceOverride',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('provider', fields.CharField(max_length=100)),
                ('model', fields.CharField(max_length=200)),
                ('prices', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('tiers', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('context_window', fields.IntField(null=True)),
                ('max_output', fields.IntField(null=True)),
                ('source', fields.CharField(default='', max_length=300)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'price_overrides', 'app': 'models', 'unique_together': (('provider', 'model'),), 'pk_attr': 'id', 'table_description': 'A price for one provider and upstream model (provider "*": any provider, as loaded'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='SpendPeriod',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('scope', fields.CharField(max_length=8)),
                ('subject_id', fields.IntField()),
                ('period', fields.CharField(max_length=16)),
                ('spent_pico', fields.BigIntField(default=0)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'spend_periods', 'app': 'models', 'unique_together': (('scope', 'subject_id', 'period'),), 'pk_attr': 'id', 'table_description': 'The spend of one tenant or key in one period (day, week, month or lifetime).'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='RequestLog',
            name='budget_action',
            field=fields.CharField(null=True, max_length=16),
        ),
        ops.AddField(
            model_name='RequestLog',
            name='cache_write_tokens',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='RequestLog',
            name='cached_tokens',
            field=fields.IntField(default=0),
        ),
        ops.AddField(
            model_name='RequestLog',
            name='cost_estimated',
            field=fields.BooleanField(default=False),
        ),
        ops.AddField(
            model_name='RequestLog',
            name='cost_picousd',
            field=fields.BigIntField(null=True),
        ),
        ops.AddField(
            model_name='RequestLog',
            name='reasoning_tokens',
            field=fields.IntField(default=0),
        ),
    ]
