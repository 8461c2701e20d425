/*
 * arch/asm.h: ENTRY/END macros for the assembly files, nothing else.
 *
 * Every symbol is hidden (internal to libringo), typed as a function and
 * sized, so that debuggers, perf and the goroutine dumper can name it.
 */
#ifndef RINGO_ARCH_ASM_H
#define RINGO_ARCH_ASM_H

#define ENTRY(name)                                                            \
    .text;                                                                     \
    .globl name;                                                               \
    .hidden name;                                                              \
    .type name, @function;                                                     \
    .p2align 4;                                                                \
    name:                                                                      \
    .cfi_startproc

#define END(name)                                                              \
    .cfi_endproc;                                                              \
    .size name, .- name

#endif
