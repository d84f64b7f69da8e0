"""Hand-written router utterances, one per line, grouped by intent.

Read by generate_router_data.py. Labelling rules for the near misses:
- chat: conversation, opinions, advice, stable general knowledge, creative writing
  (poems, stories, jokes) and explanations of how things work;
- image: make a new picture; vision: look at an existing picture or photo;
- code: anything about programs, including "translate this function to rust" and
  "show me how to draw with turtle";
- math: numbers to compute, including unit conversions and percentages;
- video: make, edit or analyse moving pictures; audio: speech, music and sound;
- search: live or current information, or finding things on the web or nearby;
- summarize: shorten a given text, including "describe the plot of Hamlet";
- translate: between human languages, including "what does 'merci' mean".
"""

CHAT = """
hi there
hello, how are you doing today?
good morning! did you sleep well, metaphorically speaking?
how's it going
i'm bored, talk to me
tell me a joke
Tell me a joke about penguins that a kid would like
write a poem about the sea
Write a short poem about autumn leaves falling on a quiet street
compose a limerick about a cat who loves lasagna
can you write me a bedtime story about a brave little toaster?
what is a picture frame made of?
how do cameras actually work?
why is the sky blue
What causes thunder during a storm?
explain how vaccines train the immune system
who was Cleopatra
what's the difference between a crocodile and an alligator
is a tomato a fruit or a vegetable
what do you think about pineapple on pizza?
do you have feelings?
what's your favourite colour
I had a rough day at work and just need to vent for a minute
any tips for falling asleep faster?
how can I be more productive in the mornings
give me some advice on preparing for a job interview
how do I politely decline a wedding invitation
suggest a name for my new goldfish
what should I cook for dinner tonight with rice and eggs
recommend a good fantasy novel for a long flight
what's a fun thing to do on a rainy sunday
can you help me plan a birthday party for my dad
thanks, that was really helpful!
you're funny lol
nevermind, forget it
ok cool
what's the meaning of life
explain photosynthesis like I'm five
how do airplanes stay in the air
Why do cats purr?
what is a black hole
how does the stock market work in simple terms
what's the best way to learn to play guitar as an adult
write a haiku about morning coffee
give me three fun facts about octopuses
how are videos compressed, roughly?
describe a sunset over the mountains in a few poetic sentences
Write a short story where a robot learns to paint.
can you pretend to be a pirate and say hello
how does a microphone turn sound into electricity
what is a python? the snake i mean
what language do people speak in Brazil
how long is the Nile river
who painted the Mona Lisa
what's the history of jazz in a nutshell
how do I make friends in a new city
is it rude to text during dinner
help me write a toast for my sister's wedding
let's play twenty questions
what's your name
are you a robot?
good night, talk tomorrow
i feel kind of lonely today
motivate me to go to the gym
what are some good hobbies for introverts
why do we dream
how do bees make honey
what is the difference between weather and climate
write a rap verse about doing laundry
make up a riddle for me
whats ur opinion on remote work
can dogs see colors
how far away is the moon
what happens if you swallow gum
give me a pep talk before my exam
write a thank you note for my neighbour who watered my plants
how does a rainbow form
Tell me something interesting about ancient Rome.
should I learn piano or violin first
what makes a good leader
how do i deal with a coworker who keeps interrupting me
why is music so emotional for people
who invented the telephone
explain the rules of chess briefly
what's a healthy breakfast that keeps me full
write a love letter from a cat to a sunbeam
describe what it feels like to stand in the rain
what do you like to talk about
hmm interesting, tell me more
ugh mondays
"""

IMAGE = """
draw me a picture of a dog
generate an image of a castle floating in the clouds
create a picture of a red fox in the snow
paint a watercolor of a lighthouse at dusk
make me a logo for my coffee shop called Bean There
design a minimalist wallpaper with purple mountains
render a 3d image of a futuristic city at night
can you draw a cartoon version of a grumpy cat
I need an illustration of a dragon reading a book
sketch a cozy cabin in the woods
generate a photorealistic portrait of an astronaut on a beach
make an image of a bowl of ramen in anime style
create a poster for a summer jazz festival
draw a map of a fantasy kingdom with rivers and castles
picture of a sunflower field, oil painting style
Please generate an image of a robot walking a dog in the park.
create album cover art for a synthwave band
make a pixel art sprite of a knight
design a birthday card with balloons and a cake
generate a meme image of a confused owl
draw a diagram-style picture of a volcano erupting for a school poster
make a picture showing a cat wearing a tiny crown
i want an image of a waterfall in a jungle
create a cute sticker of a smiling avocado
paint me a sunset over the ocean
generate a banner image for my youtube channel about cooking
could you create artwork of a samurai under cherry blossoms
render an isometric game room with neon lights
make a charcoal sketch of an old man's face
draw a comic strip panel of two penguins arguing
generate an icon of a paper plane for my app
make a fantasy landscape with two moons in the sky
create a t-shirt design with a skull and roses
draw a unicorn for my daughter
generate a picture of a steaming cup of tea on a rainy windowsill
make an image in the style of van gogh of a city street
create a profile picture of a fox wearing glasses
design a book cover for a mystery novel set in Venice
draw a snowy mountain village at christmas
generate a hyperrealistic image of a hamburger
can u make a pic of a dinosaur riding a skateboard
illustrate a children's book page with a bear baking bread
paint an abstract piece with blue and gold swirls
generate concept art for a space station interior
make a stained glass style image of a peacock
create a greeting card picture with autumn leaves
draw a chibi version of a wizard
generate an image: a tiny house on the back of a turtle
make a watercolor postcard of Paris
create an infographic-style image of the solar system planets
draw a realistic tiger drinking from a river
i'd like a picture of my dream garden with a pond and a bench
generate a moody black and white photo of a rainy alley
design a logo with a mountain and the letters KT
create a wallpaper for my phone with jellyfish glowing in the dark
make me an image of a medieval feast in a great hall
imagine and draw a city built inside a giant tree
render a product shot of a perfume bottle on marble
generate a cyberpunk portrait of a woman with neon hair
paint a still life with lemons and a blue jug
create a retro travel poster for the moon
make an emoji style picture of a laughing sun
draw a floor plan style picture of a small apartment
generate an image of an underwater palace with fish
create a picture of a hot air balloon over the desert
design a mascot for a hiking club, a friendly goat
draw an anime girl holding an umbrella in the rain
generate art of a phoenix rising from the flames
make a cartoon of a dog delivering mail
can you create an image of a library with floating books
paint a lazy sunday morning scene with a cat on a bed
create a vintage botanical illustration of a fern
generate a picture of kids building a snowman
draw something cool
make an image for my blog post about productivity
create a seamless pattern of strawberries and leaves
generate a 16:9 thumbnail with a shocked face and a volcano
visualize a steampunk airship as an illustration
make a drawing of a treehouse with a rope ladder
produce an image of a neon sign that says open late
generate a portrait of a knight in golden armour
draw a spooky haunted house for halloween
create a photo-style picture of fresh croissants on a table
make an image of a bicycle leaning against a yellow wall
design an image of a galaxy shaped like a spiral staircase
paint a lotus flower on a pond
I need a cover image for my podcast about gardening
"""

VISION = """
what do you see in this image
what's in this photo?
describe the picture I just uploaded
can you tell me what is in the attached image
look at this picture and tell me what breed the dog is
what kind of flower is this in my photo
how many people are in this photo
read the text in this screenshot
is there a cat in the picture I sent
what color is the car in this image
describe this photo of a sunset for my alt text
identify the bird in the attached photo
what's written on the sign in this picture
can you check my photo and tell me if the plant looks sick
what is this object in the image
caption this picture for instagram
does this image contain any animals
analyze this chart screenshot and tell me what it shows
what landmark is this in the photo
tell me what's happening in this picture
whats in the pic
look at my image, is the mushroom in it safe to eat?
describe the scene in the uploaded photo in detail
what brand is the laptop in this picture
count the apples in the image i attached
what's the mood of this photograph
is the person in this photo smiling
what does this picture show
which city is shown in this photo
see the attached image? what's wrong with my bike chain
identify the objects on the desk in this photo
please describe this image for a blind user
what style of architecture is the building in my photo
what kind of tree is in this picture
is this a photo of a real place or a render
tell me about the painting in this image
what's on the plate in my photo
guess where this photo was taken
describe the outfit the woman in the picture is wearing
can you recognise the cat breed from my picture
what animal is this in the photo I uploaded
is there text in this image, and what does it say
what time of day does this photo look like
how old does the building in this picture look
is this image blurry or sharp
look at this receipt photo and tell me the total
what's the weather like in the photo I sent
explain the diagram in the attached picture
which of the two shirts in this photo looks better
does the room in this picture look tidy
what insect is this on my wall, photo attached
what species of snake is in this photo
is this a daisy or a chamomile in my picture
which temple or shrine is shown in my picture
tell me what you notice first in this photo
generate alt text for the attached image
what fruit is in the bowl in this photo
can you see any damage on the car in this picture
what game is on the screen in this photo
tell me the colors in this image
i took a photo of a bug, can you identify it
name the dish in this food photo
who is the statue in this photo of
rate the composition of this photo i took
describe what the dog is doing in this picture
is the cake in my photo burnt
what type of cloud is in this photograph
find the cat hidden in this image
what does the whiteboard in the image say
is this handwriting in the photo legible to you
inspect this photo of my rash, what could it be
check the image: are the shelves straight?
what's the license plate in this picture
what are the kids in the photo playing with
tell me what kind of bridge is in the picture
what's going on in this screenshot
do you see a crack in the wall in my photo
what breed of horse is shown in the picture
describe the attached image in one sentence
compare the two photos I uploaded
what kind of boat is this in the pic
look at the photo and list everything on the table
what is the name of this mountain in the image
is the fruit in this photo ripe
can you tell what material the chair in my picture is
analyse my selfie, does this haircut suit me
what's the flag in this image
spot the differences between these two images
"""

CODE = """
write a Python function
write a Python function to sort a list
show me how to draw in python turtle
translate this function to rust
how do I reverse a string in javascript
fix this error: TypeError: 'NoneType' object is not subscriptable
write a SQL query to get the top 5 customers by total spend
what does this regex do: ^\\d{3}-\\d{4}$
explain what a python decorator is with an example
write a bash script that renames all .txt files to .md
how do I read a csv file with pandas
create a react component for a todo list
convert this for loop into a list comprehension
why does my java code throw a NullPointerException
write a function that checks if a number is prime
how do I make an http request in go
refactor this class to use dataclasses
write unit tests for my fibonacci function
implement binary search in c++
how do i center a div in css
what's the difference between let and const in js
write a dockerfile for a flask app
my python script is too slow, how can I profile it
generate a regex that matches email addresses
how do I undo the last git commit
port this python snippet to typescript
write a function to merge two sorted arrays
explain big O notation with code examples
create a REST API endpoint in fastapi that returns the current time
how to loop over a dictionary in python
write a rust program that reads a file line by line
debug this: IndexError: list index out of range
what does async await do in javascript
implement a linked list in python
how can I draw a circle with the html canvas
write code to download a web page and count the words
set up a virtual environment for my project
write a python script to resize all images in a folder
show me a hello world in kotlin
how do I parse json in rust with serde
write a function that computes the average of a list
create a class for a bank account with deposit and withdraw methods
what is the difference between a process and a thread, with a code example
how do i write a for loop in bash
make a simple snake game in pygame
write a SQL statement that deletes duplicate rows
implement quicksort in javascript
how to handle exceptions in python properly
write a function to flatten a nested list
convert this javascript to python please
how do I connect to a postgres database from node
write a cron expression that runs every monday at 9am
explain this stack trace to me
my code compiles but gives the wrong answer, can you look at it
write a python class that represents a matrix and supports multiplication
how to plot a sine wave with matplotlib
create a command line tool with argparse that takes a filename
write a go function that reverses a slice
add type hints to this function
what does the yield keyword do
implement an LRU cache
write a function to validate a password has a digit and an uppercase letter
how do I sort a list of dicts by a key
write a kubernetes deployment yaml for nginx
how can I speed up this numpy loop
write a recursive function for the factorial
make this function thread safe
write a shell one-liner to find the largest files in a directory
how do I search a list for duplicates in python
implement depth first search on a graph
write a chrome extension that changes the page background
build a tiny web server in node without express
why is my css grid not wrapping
code a tic tac toe game in the terminal
write a script that sends an email with smtplib
show me how to use map and filter in python
write a function to count vowels in a string
how do i install a package with pip from a requirements file
write html for a contact form with name and email
explain what this one-liner does: [x for x in range(10) if x % 2]
help me write a regex to pull dates out of a log file
how do I write a generator in python
implement a stack using two queues
write a python program to check if a word is a palindrome
turn this bash script into a python script
how do I memoize a function in javascript
write swift code to show an alert
write a makefile for a small c project
"""

MATH = """
what's 15% of 80
what is 234 times 17
calculate 1250 divided by 25
solve 2x + 3 = 11
what's the square root of 144
how much is a 20% tip on $45
convert 10 miles to kilometers
what is 7 factorial
find the area of a circle with radius 4
if I have 3 apples and buy 5 more, how many do I have
what is the derivative of x^2 + 3x
integrate 2x from 0 to 3
simplify 3(x + 4) - 2x
what's 2 to the power of 10
how many seconds are in a day
what is 3/4 plus 2/3
solve for y: 5y - 7 = 18
what's the average of 4, 8 and 15
a shirt costs $40 and is 25% off, what's the sale price
how many minutes are in 3.5 hours
what is the hypotenuse of a right triangle with legs 3 and 4
compute 12.5 * 8
is 97 a prime number
what's the least common multiple of 6 and 8
greatest common divisor of 48 and 180
convert 98.6 fahrenheit to celsius
if a train travels 60 km in 45 minutes, what is its speed in km/h
what is 1000 minus 387
how much interest do I earn on $2000 at 5% per year for 3 years
solve the quadratic x^2 - 5x + 6 = 0
what's 0.125 as a fraction
what is the perimeter of a rectangle 7 by 3
calculate the volume of a cube with side 5 cm
what is 15 squared
how many combinations of 3 items from 10
what's the probability of rolling two sixes with two dice
what is log base 2 of 64
round pi to 4 decimal places
express 45% as a decimal
how many weeks are in 365 days
what's 18 divided by 0.3
if 5 pencils cost $2.50, how much do 12 cost
what is the slope between (1, 2) and (4, 11)
find x if 3x/4 = 9
what's the sum of the first 100 positive integers
convert 2.5 kg to pounds
whats 9 x 8
add 457 and 768
what is 40% of 250
my bill is 86 dollars, split between 4 people, how much each
what's the median of 3, 9, 1, 7, 5
what is sin of 30 degrees
calculate the compound interest on 1000 at 4% for 2 years
how many degrees are in the interior angles of a hexagon
a recipe needs 3 eggs for 12 cookies, how many eggs for 30 cookies
what's 5 cubed minus 4 cubed
solve the system x + y = 10 and x - y = 4
what's the area of a triangle with base 10 and height 6
what is 1/8 as a percentage
how long does it take to drive 300 km at 80 km/h
what's the mean of 12, 15, 18, 21
percent change from 50 to 65
how much is 3 dozen
what is 2^16
divide 7 by 3 and give me the remainder
what is the circumference of a circle with diameter 10
if x = 3, what is 2x^2 - x + 1
how many ways can 5 people sit in a row
what's 17% of 340
evaluate (8 + 2) * 3 - 4 / 2
is 1001 divisible by 7
a car depreciates 15% a year, what is a $20000 car worth after 2 years
what is the cube root of 27
convert 3 feet 4 inches to centimeters
how many liters in 5 gallons
what's 13 percent of 2400
find the missing angle of a triangle with angles 50 and 60
what's the next number in 2, 6, 18, 54
calculate 3.7 + 4.85 + 12.1
what is 45 minutes as a fraction of an hour
what is the standard deviation of 2, 4, 4, 4, 5, 5, 7, 9
how many km is a marathon in miles
tell me 7 times 6
i earn 52000 a year, what's that per month
expand (x + 2)(x - 3)
what is 0.2 times 0.3
if a pizza is cut into 8 slices and I eat 3, what fraction is left
"""

VIDEO = """
make a video of my vacation photos with music
generate a short video of waves crashing on a beach
create a 10 second animation of a bouncing ball
edit this clip to remove the first 5 seconds
turn these pictures into a slideshow video
add subtitles to my video
make a timelapse video from these frames
can you generate a video of a cat playing piano
trim the video to the part where the goal is scored
render an animated intro for my youtube channel
speed up this video by 2x
what happens in this video clip?
make a gif from this video
create a short animated explainer video about recycling
stabilize my shaky drone footage
generate a video of a spaceship landing on mars
cut this video into three parts
add a fade out at the end of my video
merge these two video clips together
animate this drawing of a bird flapping its wings
make a music video for my song
reverse this video clip
create a promo video for my bakery
convert my video from mov to mp4
remove the background noise from this video and keep the picture
generate a video where a flower blooms in slow motion
how many people walk past the camera in this video
describe what's going on in this video
make a tiktok style video with captions
create a 3d animated logo reveal
can you crop this video to a square for instagram
extract the best frames from this video
turn this text into a short video with stock footage
add a watermark to my video
slow down the part where the dog jumps
make an animated birthday video for my mom
generate a clip of a dragon flying over mountains
put background music under my video
make a video tutorial intro with zooming text
rotate this video, it was filmed sideways
compress this video so it's under 25 mb
colour grade my video to look cinematic
loop this video clip five times
generate a video of rain falling on a city street at night
create a stop motion style animation of lego bricks
what is the person in the video doing
find the moment in the video where the car appears
make a video montage of my kid's first year
replace the sky in this video with a sunset
create a video ad for a pair of running shoes
blur the faces in this video
generate a talking avatar video from my script
make a video of a rocket launch in cartoon style
join all the clips in this folder into one video
make a countdown video from 10 to 1
add a picture in picture of my webcam to this recording
create a lyric video for these lyrics
animate a map showing our road trip route
generate an animated weather forecast video
make a short video loop of a campfire
change the frame rate of my video to 60 fps
zoom in on the bird in this video
can you make a video out of these three images
produce a product demo video for my app
upscale this old video to 4k
sync the audio and video, they're out of sync
make a video of a paper plane flying through a classroom
create a cinematic trailer for my short story
add transitions between the scenes in my video
generate an animation of a heart beating
vid of a puppy chasing bubbles pls
turn my podcast recording into a video with a waveform
extract a 30 second highlight from this livestream
make a video where text types itself on screen
add slow motion to the end of this skateboard clip
generate an animated video of the water cycle for kids
create a time lapse of a city from day to night
can you tell me if the video shows a red car
make a boomerang video from this clip
add stickers and emoji that follow the face in my video
produce a looping background video of floating particles
cut out the silent parts of my lecture recording video
make an animated short about a lonely robot
create a video collage of these four clips
fade the video to black and white halfway through
generate a video tour of a modern house
record my screen and make it into a video tutorial
"""

AUDIO = """
read this text aloud
transcribe this audio recording
convert this paragraph to speech
generate a relaxing piano melody
what song is playing in this recording
make a voice memo of this reminder
turn my notes into an mp3 i can listen to
create a sound effect of a door creaking
compose a short lo-fi beat
can you read this email out loud for me
transcribe the meeting recording i uploaded
remove the background noise from this audio file
say good morning in a british accent
generate a podcast intro jingle
make a ringtone from this song
what language is being spoken in this audio
create rain sounds for sleeping
speak this poem in a calm voice
turn up the bass in this track
convert this mp3 to wav
generate a voiceover for my presentation slides
who is singing in this audio clip
make an audiobook from this chapter
create a drum loop at 90 bpm
can you hum a tune for me
transcribe this voicemail into text
generate birdsong ambience for a video game level
narrate this story in a spooky voice
make the audio in this recording louder
identify the instrument in this sound clip
create a short melody for a doorbell
convert my voice recording to text
read the recipe aloud step by step
generate a sound of thunder rolling
compose background music for a cooking video
clean up the hiss on this old cassette recording
what's the tempo of this song
split this audio into separate tracks for vocals and instruments
make me a 30 second jingle for a pizza shop
read out loud the first paragraph of this article
generate a text to speech file in spanish
create white noise for studying
can you detect if this recording has music in it
say this sentence slowly so I can practise pronunciation
make an alarm sound that isn't annoying
generate an epic orchestral soundtrack snippet
trim the silence at the start of this audio
how many speakers are in this recording
turn this chat log into a spoken dialogue with two voices
create a lullaby for my baby
speech to text this file please
make a sound effect of a laser blast
listen to this clip and tell me the chord progression
normalize the volume of these podcast episodes
create an audio reminder that says take your medicine
generate guitar strumming in the key of G
read my essay back to me so I can hear the mistakes
compose a happy ukulele tune
convert this lecture audio into written notes
make the voice in this recording sound deeper
what bird is making this sound in my recording
generate ocean waves audio for meditation
dub this text with a female voice
fade out the end of this song
create an 8-bit chiptune for my game
is this recording in tune
announce the train departures in a station voice
make a podcast episode from this blog post
generate a heartbeat sound effect
caption the speech in this audio clip
produce a mellow jazz loop for my cafe
recognise the song from this humming
make my voice note sound less echoey
play me some calming sounds
generate a countdown voice from ten to one
create a sound for when a message arrives
turn this script into narration for a documentary
what key is this song in
mix these two audio tracks together
speak the answer instead of typing it
create an audio version of my newsletter
generate crowd cheering noise
remove the vocals from this song
record a greeting for my answering machine
tts this paragraph with a robot voice
compose a sad violin piece
"""

SEARCH = """
search the web for the latest news on electric cars
what's the weather like tomorrow in Chicago
look up the opening hours of the British Museum
find a good pizza place near me
who won the game last night
what is the current price of bitcoin
google the best budget laptops of this year
find me flights from Boston to Lisbon next month
what are today's top headlines
look up reviews for the new Pixel phone
is the highway to the airport busy right now
search for cheap hotels in Rome for the weekend
what movies are playing near me tonight
find the official website of the Louvre
what's the stock price of Apple today
latest updates on the election results
search online for a recipe blog with vegan lasagna
when does the next SpaceX launch happen
what time does Target close today
find news articles about the wildfire in california
look up the train schedule from Paris to Lyon
who is the current prime minister of Japan
check the exchange rate from euros to dollars right now
find a plumber near me with good reviews
what's trending on social media today
search for the lyrics of that new Taylor Swift song
find the nearest pharmacy that's open now
what's the score of the Lakers game
look up whether the museum is free on sundays
search the internet for python 3.14 release notes
is there a sale on running shoes this week
find recent research papers on battery recycling
what concerts are happening in Austin this weekend
look up the phone number for city hall
how much does a Tesla Model 3 cost right now
search for local farmers markets open on saturday
when is the next full moon
check if my flight BA117 is delayed
find job listings for data analysts in Denver
what did the fed announce about interest rates today
search for used bikes for sale near me
where can I buy a replacement charger for my kindle
find a dog friendly cafe in downtown Seattle
latest iphone price
what's the air quality index in Delhi today
search wikipedia for the history of the printing press
look up the population of Canada in the latest census
find the closest ev charging station
what are the visa requirements for visiting Vietnam now
search for tutorials on knitting socks
what's the traffic like on I-95
who's playing at the Super Bowl this year
find me a coupon code for pizza delivery
look up the ingredients in the new McDonald's burger
search reddit for opinions about standing desks
find the tide times for Brighton beach today
what is the uv index right now
search for events for kids in Melbourne this weekend
google when the post office opens
find out if the library has the new Stephen King book
what's new with the James Webb telescope
look up the release date of the next Zelda game
search for apartments for rent under 1500 in Portland
where is the nearest hospital emergency room
is it going to snow in Denver this week
find the latest covid guidelines from the CDC
what are people saying about the new Marvel movie
look up how much a passport renewal costs in the UK now
search for open source alternatives to Photoshop
what's the current mortgage rate
find a yoga studio near my office
check the weather forecast for the weekend
who won the Nobel Prize in literature this year
search the web for reviews of the Hilton in Kyoto
find a tutor for high school chemistry in my area
what's the latest version of Node.js
look up the bus times for route 42
is the Golden Gate Bridge closed today
search for the cheapest gas prices nearby
find news about the earthquake this morning
look up tickets for the Van Gogh exhibition
search for restaurants that deliver sushi after midnight
what happened in the stock market today
find me the menu for the thai place on Main Street
search for a free online course on statistics
what's the wait time at Disneyland right now
look up my local representative
search up the best rated air fryer
find out when the new season of Stranger Things comes out
"""

SUMMARIZE = """
summarize this article
describe the plot of Hamlet
give me a tl;dr of this email thread
can you sum up this report in three bullet points
summarise the main points of this paper
what are the key takeaways from this meeting transcript
condense this paragraph into one sentence
tldr pls
give me the gist of this long document
shorten this text to under 100 words
summarize the book 1984 for me
recap the last chapter of my novel draft
make a short abstract for this research paper
boil this down to the essentials
summarize the conversation above
what's the short version of this contract
give me an executive summary of this proposal
list the main arguments in this essay
brief me on this news article in two lines
sum up the plot of the Lord of the Rings
summarize these customer reviews
create meeting minutes from these notes
what's this webpage about, in a sentence
give me a one-paragraph summary of this chapter
distill this blog post into key points
summarize my notes from today's lecture
what is the story of Romeo and Juliet in brief
give me the highlights of this earnings report
shorten this email so it's easier to read
summarize the terms and conditions I pasted
can you make this wall of text shorter
what are the main points of the Declaration of Independence
recap the first season of Breaking Bad
summarize this Slack thread for someone who missed it
turn this long article into a tweet-length summary
give me bullet points summarizing this podcast transcript
outline the main ideas of this lecture transcript
condense these 20 pages into a page
summarize the pros and cons listed in this review
briefly explain what happens in The Great Gatsby
what does this research abstract say in plain words
sum up this wikipedia article on volcanoes
summarize the changes in this release note
give me a synopsis of Pride and Prejudice
make a digest of these five news stories
summarize my journal entries from this week
what are the three most important points in this memo
tl;dr of this reddit post?
write a brief summary of the attached case study
summarize the feedback from these survey responses
shorten the plot of Moby Dick to a paragraph
give me a quick overview of this policy document
summarize what the author argues in this op-ed
create a summary of this book chapter for my study notes
compress this story into three sentences
what's the main point of this letter
summarize the discussion in these comments
give a short summary of the French Revolution from this text
recap this legal document in simple terms
summarize this speech in a few lines
cliff notes version of this chapter please
describe the plot of Frankenstein briefly
what happened in this article, summarize it
summarize the results section of this study
make an abstract of my thesis introduction
give me the key facts from this press release
summarize this recipe into a quick list of steps
what are the takeaways of this TED talk transcript
shorten my cover letter while keeping the main points
summarize the user stories in this backlog
sum up the email from my landlord
give me a summary of the Odyssey
recap what we discussed in this chat
reduce this report to the five most important findings
summarize each paragraph of this text in one line
give me a short summary of this youtube transcript
what's the plot of the movie Inception in a few sentences
summarize the annual report for shareholders
make a summary of this interview transcript
tell me the main ideas of this article in brief
summarize the history section of this page
give me a brief of this project status update
summarize the novel Dune without spoilers of the ending
shorten this description for a product listing
summarize this thread of emails about the budget
provide a short recap of this webinar transcript
what does this long message say? keep it brief
give me a concise summary of the paper's conclusion
condense the instructions into a checklist
"""

TRANSLATE = """
translate hello into Spanish
how do you say thank you in Japanese
what does merci mean
translate this paragraph to German
translate 'where is the train station' into French
what's the italian word for butterfly
can you translate this email into portuguese
how do I say good night in Korean
translate this menu from Italian to English
what does 'gracias' mean in english
say 'I love you' in Arabic
put this sentence into Mandarin Chinese
translate my resume into Dutch
what is 'apple' in Russian
how would you say 'nice to meet you' in Hindi
translate the following to Swedish: the meeting is at noon
Schadenfreude is a German word, what's it in English
convert this text from Spanish to English please
how do you say cheers in Polish
translate these song lyrics from Korean
what language is 'obrigado' and what does it mean
help me translate a birthday message into Greek
render this paragraph in formal French
what's the Japanese for 'excuse me'
translate this product description to Turkish
how do you say 'I'm allergic to peanuts' in Thai
translate 'good luck' to Hebrew
English to Vietnamese: where is the bathroom
what does 'ciao bella' mean
translate this letter from my grandmother, it's in Polish
how do I write 'happy new year' in Chinese
translate this to spanish: the store opens at nine
what's the French word for 'library'
translate my tweet into Indonesian
can you translate 'see you tomorrow' into Finnish
give me the Spanish translation of this recipe
what does 'carpe diem' mean
translate these instructions into simple English
how do you say 'check please' in Czech
translate this sign: 'Ausfahrt freihalten'
say 'welcome' in five languages
what does 'arigatou gozaimasu' mean
translate the contract summary into Ukrainian
what's the german for 'cheers'
translate from French: je ne sais pas
how do you spell 'thank you' in Irish
translate this chat message into Tagalog
i need this paragraph in Romanian
what's 'good morning' in Swahili
translate 'the cat is on the table' into Latin
how do you say 'how much does it cost' in Spanish
translate the subtitles of this scene into English
what do the words 'hakuna matata' mean
translate this complaint letter into formal Italian
how to say 'happy birthday' in Hungarian
translate my wedding vows into Spanish for my in-laws
what is the English meaning of 'saudade'
translate 'dog' into as many languages as you can
translate this email from japanese to english
what does 'danke schoen' mean
french translation of 'I would like a coffee'
translate the title 'War and Peace' into Russian
how do you say 'left' and 'right' in German
translate this paragraph into british english from american slang
convert this Norwegian text into English
what does the Spanish phrase 'no pasa nada' mean
translate my app's buttons into French: save, cancel, delete
how do i say 'where is the beach' in greek
translate 'merry christmas' to danish
english to korean: I am a student
what's the meaning of the word 'hygge'
translate this poem from Spanish, keeping the rhythm if you can
say 'sorry I'm late' in Italian
translate 'water please' into Mandarin
translate this haiku from japanese
people keep saying 'inshallah' to me, what does it mean
how do you say 'I don't understand' in Portuguese
translate this document from Dutch into English
give me the Farsi for 'thank you very much'
translate 'open' and 'closed' into Spanish for my shop sign
how do you say 'my name is Anna' in French
translate this review from chinese
what do they mean by 'bon appetit'
translate into German: please call me back
how do you say 'good job' in Japanese
translate this passage from ancient Greek
what's the Arabic word for peace
translate the phrase 'break a leg' into French idiomatically
"""

INTENTS = {
    "chat": CHAT,
    "image": IMAGE,
    "vision": VISION,
    "code": CODE,
    "math": MATH,
    "video": VIDEO,
    "audio": AUDIO,
    "search": SEARCH,
    "summarize": SUMMARIZE,
    "translate": TRANSLATE,
}
