"""The Pulumi layer: the ``OpenElbHa`` ComponentResource and the program that reads stack config."""
