/*
 * usb_probe.c — for tests/integration/udev.sh: does kysod treat a USB device as a token
 * or reader (agent/usb.c, usb_is_token_device, with the vendors of udev/usb-ids.txt)?
 *   usb_probe VENDOR DEVICE_CLASS [INTERFACE_CLASS...]   (hex) prints 1 or 0
 *   usb_probe --vendors                                  prints the compiled-in list
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "usb.h"

int
main(int argc, char **argv)
{
	uint8_t ifaces[32];
	size_t n = 0;

	if (argc == 2 && strcmp(argv[1], "--vendors") == 0) {
		for (size_t i = 0; i < usb_token_vendors_count; i++)
			printf("%04x  %s\n", usb_token_vendors[i].vendor, usb_token_vendors[i].name);
		return 0;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: usb_probe VENDOR DEVICE_CLASS [INTERFACE_CLASS...]\n");
		return 2;
	}
	for (int i = 3; i < argc && n < sizeof(ifaces); i++)
		ifaces[n++] = (uint8_t)strtoul(argv[i], NULL, 16);
	printf("%d\n", usb_is_token_device((uint8_t)strtoul(argv[2], NULL, 16),
	    (uint16_t)strtoul(argv[1], NULL, 16), ifaces, n));
	return 0;
}
