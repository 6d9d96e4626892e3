"""Kehu's locale formats (settings.FORMAT_MODULE_PATH). Only what differs from Django's own: the first
input format of each locale is the one widgets render values with, and `<input type=date>` /
`<input type=datetime-local>` accept only ISO (yyyy-MM-dd, yyyy-MM-ddTHH:mm); Django's zh_Hans puts
`%Y/%m/%d` first, so every edit form showed its dates blank. Displayed dates keep Django's
Chinese formats (DATE_FORMAT "Y年n月j日" and so on), which are not set here."""
