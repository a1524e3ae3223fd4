# Django's zh_Hant groups digits by four with no separator (10000); Taiwanese government pages,
# bills and receipts write money in threes with commas (新臺幣10,000元), so amounts shown with
# ``intcomma`` read as citizens are used to.
THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3
