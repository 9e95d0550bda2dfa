print("t2u-bench")
