"""An index on the day each enrollment's stay ends (its discharge date, else its planned end),
so "the stays not over by this day" is read from the index, not from every stay ever.

The attendance report's below-minimum list weighs the enrollments in care in its two weeks: with
26 weeks of history at 2,000 participants, PostgreSQL read all 8,040 enrollments for the 2,040
still in care (and guessed 64 of them). The table keeps every stay, so that read grew with the
clinic's history; the index grows with it too, but is read only from the day asked.
"""
from django.db import migrations, models
from django.db.models.functions import Coalesce


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0007_participant_home_site_idx"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="enrollment",
            index=models.Index(Coalesce("discharge_date", "planned_end_date"),
                               name="enrollment_ends_idx"),
        ),
    ]
