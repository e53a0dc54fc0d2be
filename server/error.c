/* The text of each ZOO_E* code, generated from the same list as the codes. */
#include "error.h"

const char *zoo_strerror(int code)
{
    switch (code) {
    case 0:
        return "success";
#define ZOO_ERROR_TEXT(name, value, text)                                                          \
    case name:                                                                                     \
        return text;
        ZOO_ERRORS(ZOO_ERROR_TEXT)
#undef ZOO_ERROR_TEXT
    }
    return "unknown error";
}
