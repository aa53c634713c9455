# cmake -DIN=example -DOUT=file -P conf_from_example.cmake
# The installed /etc/dnswash/dnswashd.conf is docs/dnswashd.conf.example with every setting
# commented out: the daemon's defaults apply until the operator uncomments one, and the example
# stays the one source of the keys and their explanations.
file(READ "${IN}" text)
string(REGEX REPLACE "(^|\n)([a-z][a-z0-9-]* *=)" "\\1# \\2" text "${text}")
file(WRITE "${OUT}" "${text}")
