# Django's zh_Hant groups digits by four with no separator (10000); Taiwanese government pages,
# bills and receipts write money in threes with commas (新臺幣10,000元), so amounts shown with
# ``intcomma`` read as citizens are used to.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

# The first input format is the one a form writes into its inputs: ISO first, because an
# <input type="date"> only accepts YYYY-MM-DD and shows Django's 2026/11/28 as an empty field.
# The others are still accepted when typed.
DATE_INPUT_FORMATS = [
    "%Y-%m-%d",  # '2026-11-28'
    "%Y/%m/%d",  # '2026/11/28'
    "%Y年%m月%d日",  # '2026年11月28日' (Django's own "%Y年%n月%j日" reads %j as the day of the year)
]
