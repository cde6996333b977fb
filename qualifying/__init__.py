"""Pure understanding of a visitor's answers: text tools, one parser per answer, scoring.

Nothing here touches Rasa, the network or the database; the only files read are this
package's own word lists and the scoring rules file it is given.
"""
