print("t2u-impair")
