print("t2u: being written")
