# cmake -DIN=file -DOUT=file.c -P embed.cmake: writes `const char gw_openapi_json[]` with
# the bytes of IN (NUL-terminated).
file(READ ${IN} hex HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
file(WRITE ${OUT} "/* generated from openapi.json by embed.cmake */\nconst char gw_openapi_json[] = {${bytes}0x00};\n")
