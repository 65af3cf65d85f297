"""An index on participants (home site, id), so "the participants whose home site is one of
these" is read from the index alone.

Today's count of open follow-ups (and the follow-up list's) asks which participants have their
home site at the user's sites: PostgreSQL read the whole participants table for it (163 pages
with 26 weeks of history at 2,000; the table keeps everyone ever admitted), where this index
answers from about 20 pages. The foreign key's own index (home site alone) cannot give the ids
without reading each row.
"""
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("participants", "0006_participant_search_trigram_idx"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="participant",
            index=models.Index(fields=["home_site", "id"], name="participant_home_site_idx"),
        ),
    ]
